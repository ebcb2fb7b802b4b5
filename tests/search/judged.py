"""Reading ``judged_queries.tsv`` and judging a backend's answers to it (the contract tests and ``bench/search.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elibrary.search.base import SearchBackend, SearchQuery

QUERIES_FILE = Path(__file__).with_name("judged_queries.tsv")
TOP = 5


@dataclass(frozen=True)
class Judged:
    """One judged query: titles that must be in the top 5, titles that must not match (``nothing``: no hit at all)."""

    query: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    nothing: bool
    note: str


def _titles(cell: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in cell.split(" | ") if t.strip())


def load_judged(path: Path = QUERIES_FILE) -> list[Judged]:
    """The judged queries of the file (comment lines start with #)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        query, must, must_not, note = (line.split("\t") + ["", "", ""])[:4]
        out.append(Judged(query, _titles(must), () if must_not == "*" else _titles(must_not), must_not == "*", note))
    return out


def judge(backend: SearchBackend, item: Judged, titles: dict[int, str]) -> list[str]:
    """The ways ``backend``'s answer to ``item`` fails its judgement (empty when it passes)."""
    top = [titles[i] for i in backend.search(SearchQuery(text=item.query, limit=TOP, with_facets=False)).ids]
    every = backend.search(SearchQuery(text=item.query, limit=len(titles), with_facets=False))
    found = {titles[i] for i in every.ids}
    problems = [f"{t!r} not in the top {TOP} {top}" for t in item.must if t not in top]
    problems += [f"{t!r} must not match" for t in item.must_not if t in found]
    if item.nothing and every.total:
        problems.append(f"expected no hit, got {sorted(found)}")
    return problems


def recall_precision(backend: SearchBackend, judged: list[Judged], titles: dict[int, str]) -> tuple[float, float]:
    """Top-5 recall (wanted titles found in the top 5) and precision (top-5 titles that are not judged wrong).

    Precision counts a top-5 title as wrong when the query lists it as must-not, or wants no hit at all.
    Ids missing from ``titles`` (a benchmark's generated titles around the judged ones) are neither.
    """
    wanted = found = shown = wrong = 0
    for item in judged:
        top = [titles.get(i) for i in backend.search(SearchQuery(text=item.query, limit=TOP, with_facets=False)).ids]
        wanted += len(item.must)
        found += sum(t in top for t in item.must)
        shown += len(top)
        judged_top = [t for t in top if t is not None]
        wrong += len(judged_top) if item.nothing else sum(t in item.must_not for t in judged_top)
    return (found / wanted if wanted else 1.0), (1 - wrong / shown if shown else 1.0)
