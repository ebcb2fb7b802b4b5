"""Search benchmark: a realistic generated catalog, first-use and repeat latency, build, size, RSS, judged recall.

    .venv/bin/pip install -e '.[bench]'   # Janome, whose IPADIC words and names give the vocabulary
    .venv/bin/python bench/search.py --sizes 10000 100000 --out /tmp/elibrary-bench [--backends whoosh tantivy]
    .venv/bin/python bench/search.py --sizes 100000 --backend postgresql --pg-url postgresql://root@127.0.0.1:5432/bench

``--backend postgresql`` measures ``ELIBRARY_SEARCH=postgresql`` on the same documents and queries: the
tables live in a schema of their own (``bench_<n>``) of the database ``--pg-url`` names (created if
missing). PostgreSQL keeps its buffer cache across processes, so its "first use" is a query's first
use in the serving process with the server's cache warm from the build, as on a running server.

The catalog: titles built from IPADIC's common nouns (tens of thousands of distinct words, drawn
head-heavy by the dictionary's own word cost) with particles (の と は へ を), NDL-style readings (words
spaced, particles as pronounced: ネコ ワ ...), personal names from IPADIC's family and given names
stored with the space (「佐藤 花子」, readings 「サトウ ハナコ」 or MARC's 「サトウ, ハナコ」), descriptions of
100-400 characters, 15% English titles; plus the judged catalog of ``tests/search/judged_catalog.py``.

The queries: whole titles, title + author, names with and without the space, readings as typed
(hiragana, particles as written), ISBNs (with and without hyphens), common words, one character,
English, long pasted text, zero-hit queries, faceted and sorted ones. Each query is timed on its
FIRST USE in a fresh serving process (the headline: what a user meets for a query nobody asked
since the worker started), then as the median of 3 repeats. Also: ``もしかして`` suggestions for the
zero-hit queries, the first query after another process committed, RSS, and top-5 recall and
precision of the judged queries (``tests/search/judged_queries.tsv``) inside the large catalog.
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

SEED = 20260101
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elibrary.search.base import SearchDocument, SearchQuery  # noqa: E402

JUDGED_OFFSET = 10_000_000  # ids of the judged catalog inside a generated one
VOCAB_CACHE = Path("/tmp/elibrary-bench-vocabulary.json")  # the words read from Janome once (it takes ~20 s)
ENGLISH = ["python", "history", "science", "library", "japan", "data", "design", "music", "world", "children",
           "story", "guide", "introduction", "nature", "art", "computer", "network", "travel", "food", "energy",
           "garden", "ocean", "city", "night", "river", "mountain", "war", "peace", "family", "school"]
PUBLISHERS = ["岩波書店", "新潮社", "講談社", "集英社", "福音館書店", "偕成社", "ポプラ社", "文藝春秋", "小学館", "筑摩書房",
              "河出書房新社", "角川書店", "光文社", "中央公論新社", "Springer", "O'Reilly"]
AUDIENCES = ["general"] * 6 + ["children"] * 3 + ["ya"]
FORMATS = ["epub-reflowable"] * 7 + ["epub-fixed"] * 2 + ["pdf"]
# Title patterns: (text, NDL reading); {a} {b} {c} are nouns. Particles are read as pronounced.
PATTERNS = [
    ("{a}", "{A}"), ("{a}の{b}", "{A} ノ {B}"), ("{a}と{b}", "{A} ト {B}"), ("{a}の{b}と{c}", "{A} ノ {B} ト {C}"),
    ("{a}は{b}である", "{A} ワ {B} デ アル"), ("{a}へ行く", "{A} エ イク"), ("{a}を探して", "{A} オ サガシテ"),
    ("はじめての{a}", "ハジメテ ノ {A}"), ("{a}{b}入門", "{A} {B} ニュウモン"), ("{a}の{b}", "{A} ノ {B}"),
    ("{a}物語", "{A} モノガタリ"), ("{a}の歴史", "{A} ノ レキシ"), ("{a}{b}", "{A} {B}"),
]
SENTENCES = ["{a}の{b}を{c}の視点から描く。", "{a}と{b}をめぐる{c}の物語。", "{a}は{b}である。", "{a}に{b}の{c}を重ねた作品。",
             "{a}の歴史と{b}の現在をたどる。", "{a}のための{b}入門。", "図書館で{a}を調べる{b}のための一冊。"]


# -- the vocabulary -----------------------------------------------------------------------------------------
def vocabulary(cache: Path) -> dict[str, list[tuple[str, str]]]:
    """IPADIC's nouns, family names and given names with katakana readings, commonest first (by word cost)."""
    if cache.exists():
        return {k: [tuple(p) for p in v] for k, v in json.loads(cache.read_text(encoding="utf-8")).items()}
    try:
        import janome
    except ImportError:
        sys.exit("bench/search.py needs Janome's dictionary: .venv/bin/pip install -e '.[bench]'")
    import re

    sysdic = Path(janome.__file__).parent / "sysdic"
    kana = re.compile(r"^[\u30a1-\u30fa\u30fc]+$")
    word = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff々]{1,8}$")
    found: dict[str, dict[str, tuple[int, str]]] = {"nouns": {}, "surnames": {}, "given": {}}
    for part in range(10):
        surfaces = ast.literal_eval((sysdic / f"entries_compact{part}.py").read_text().split("=", 1)[1])
        extras = ast.literal_eval((sysdic / f"entries_extra{part}.py").read_text().split("=", 1)[1])
        for key, (surface, _left, _right, cost) in surfaces.items():
            pos, reading = extras[key][0].split(","), extras[key][4]
            if not word.match(surface) or not kana.match(reading):
                continue
            if pos[:2] in (["名詞", "一般"], ["名詞", "サ変接続"]) and len(surface) >= 2:
                kind = "nouns"
            elif pos[:3] == ["名詞", "固有名詞", "人名"] and pos[3] in ("姓", "名"):
                kind = "surnames" if pos[3] == "姓" else "given"
            else:
                continue
            if surface not in found[kind] or cost < found[kind][surface][0]:
                found[kind][surface] = (cost, reading)
    vocab = {k: [(s, r) for s, (_c, r) in sorted(v.items(), key=lambda kv: (kv[1][0], kv[0]))] for k, v in found.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    return vocab


class _Zipf:
    """Draws from a list head-heavily (weight 1/rank^s), in O(log n) per draw."""

    def __init__(self, items: list, s: float = 1.0) -> None:
        import itertools

        self.items = items
        self.cum = list(itertools.accumulate(1 / (i + 1) ** s for i in range(len(items))))

    def __call__(self, rng: random.Random):
        import bisect

        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


def _isbn(rng: random.Random) -> str:
    core = "9784" + "".join(str(rng.randrange(10)) for _ in range(8))
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core)) % 10) % 10
    return core + str(check)


def catalog(n: int, seed: int = SEED, vocab_cache: Path = VOCAB_CACHE):
    """``n`` generated titles, deterministic for a seed."""
    vocab = vocabulary(vocab_cache)
    rng = random.Random(seed)
    noun, surname, given = _Zipf(vocab["nouns"], 0.9), _Zipf(vocab["surnames"], 0.9), _Zipf(vocab["given"], 0.8)
    for i in range(1, n + 1):
        english = rng.random() < 0.15
        if english:
            title, reading = " ".join(rng.choice(ENGLISH).capitalize() for _ in range(rng.randint(2, 5))), ""
        else:
            a, b, c = noun(rng), noun(rng), noun(rng)
            text, ndl = rng.choice(PATTERNS)
            title = text.format(a=a[0], b=b[0], c=c[0])
            reading = ndl.format(A=a[1], B=b[1], C=c[1])
        people = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            (sn, sr), (gn, gr) = surname(rng), given(rng)
            people.append((f"{sn} {gn}", f"{sr}, {gr}" if rng.random() < 0.5 else f"{sr} {gr}"))
        sentences = []
        while sum(map(len, sentences)) < rng.randint(100, 400):
            sentences.append(rng.choice(SENTENCES).format(a=noun(rng)[0], b=noun(rng)[0], c=noun(rng)[0]))
        yield SearchDocument(
            id=i,
            title=title,
            title_reading=reading,
            subtitle=rng.choice(["", "", "", "上巻", "新装版", "はじめての" + noun(rng)[0]]),
            series=rng.choice(["", "", "", "岩波新書", "こども図鑑", "シリーズ日本の歴史", noun(rng)[0] + "叢書"]),
            contributors=tuple(p for p, _ in people),
            contributor_readings=tuple(r for _, r in people),
            publisher=rng.choice(PUBLISHERS),
            subjects=tuple(noun(rng)[0] for _ in range(rng.randint(1, 3))),
            description="".join(sentences) + (" " + " ".join(rng.sample(ENGLISH, 3)) if english else ""),
            isbn=_isbn(rng),
            ndc=f"{rng.randrange(10)}{rng.randrange(10)}{rng.randrange(10)}",
            audience=rng.choice(AUDIENCES),
            format=rng.choice(FORMATS),
            language="en" if english else "ja",
            published=date(1950, 1, 1) + timedelta(days=rng.randrange(27000)),
            available=rng.random() < 0.7,
        )


def judged_documents() -> list[SearchDocument]:
    """The judged catalog of the tests, with ids apart from the generated ones."""
    from dataclasses import replace

    from tests.search.judged_catalog import judged_catalog

    return [replace(d, id=JUDGED_OFFSET + d.id) for d in judged_catalog()]


# -- the queries --------------------------------------------------------------------------------------------
def _as_typed(reading: str) -> str:
    """A reading as a person types it: hiragana, no spaces, particles as written (ワ → は, エ → へ, オ → を)."""
    import jaconv

    words = [{"ワ": "ハ", "エ": "ヘ", "オ": "ヲ"}.get(w, w) for w in reading.replace(",", "").split()]
    return jaconv.kata2hira("".join(words))


def queries(n: int, seed: int = SEED) -> dict[str, list[SearchQuery]]:
    """The query mix, drawn from the catalog itself (10-30 per category)."""
    rng = random.Random(seed + 1)
    picks = sorted(rng.sample(range(1, n + 1), min(n, 400)))
    docs = [d for d in catalog(n) if d.id in set(picks)]
    ja = [d for d in docs if d.language == "ja"]
    en = [d for d in docs if d.language == "en"]
    q = lambda text, **kw: SearchQuery(text=text, with_facets=kw.pop("with_facets", False), **kw)  # noqa: E731
    nospace = lambda name: name.replace(" ", "")  # noqa: E731
    vocab = vocabulary(VOCAB_CACHE)
    rare = vocab["nouns"][-2000:]
    return {
        "whole-title": [q(d.title) for d in ja[:30]],
        "title+author": [q(f"{d.title} {nospace(d.contributors[0])}") for d in ja[30:50]],
        "name-with-space": [q(d.contributors[0]) for d in ja[50:70]],
        "name-without-space": [q(nospace(d.contributors[0])) for d in ja[70:90]],
        "reading": [q(_as_typed(d.title_reading)) for d in ja[90:110] if d.title_reading],
        "isbn": [q(d.isbn) for d in docs[110:115]] + [q(f"{d.isbn[:3]}-{d.isbn[3]}-{d.isbn[4:8]}-{d.isbn[8:12]}-{d.isbn[12]}") for d in docs[115:120]],
        "common-word": [q(w) for w, _ in vocab["nouns"][:20]],
        "one-char": [q(c) for c in "猫犬海山川空花森本学人日"],
        "english": [q(" ".join(d.title.lower().split()[:2])) for d in en[:10]],
        "long": [q(d.description[:120]) for d in ja[120:130]],
        "zero-hit": [q(f"{rng.choice(rare)[0]} {rng.choice(rare)[0]} {rng.choice(rare)[0]}") for _ in range(10)] + [q("xyzzy")],
        "faceted": [q(w, filters={"audience": rng.choice(["children", "general", "ya"])}, with_facets=True) for w, _ in vocab["nouns"][20:30]],
        "sorted": [q(w, sort=rng.choice(["newest", "reading"])) for w, _ in vocab["nouns"][30:40]],
    }


# -- measuring ----------------------------------------------------------------------------------------------
def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)


def _summary(values: list[float]) -> dict:
    return {"p50": _pct(values, 50), "p95": _pct(values, 95), "max": round(max(values), 1)}


PG_PREFIX = "postgresql+schema:"  # an index "path" naming a schema of a PostgreSQL database: PREFIX + schema + "@" + url
TANTIVY_PREFIX = "tantivy:"  # an index "path" naming a tantivy index folder: PREFIX + folder


def open_backend(path: str):
    """The backend an index path names: a Whoosh folder, a tantivy folder (``TANTIVY_PREFIX``), or PostgreSQL
    tables in a schema (``PG_PREFIX``)."""
    if path.startswith(TANTIVY_PREFIX):
        from elibrary.search.tantivy_backend import TantivySearch

        return TantivySearch(path[len(TANTIVY_PREFIX):])
    if not path.startswith(PG_PREFIX):
        from elibrary.search.whoosh_backend import WhooshSearch

        return WhooshSearch(path)
    from sqlalchemy import create_engine

    from elibrary.search.postgresql import PostgresSearch

    schema, _, url = path[len(PG_PREFIX):].partition("@")
    return PostgresSearch(create_engine(url, connect_args={"options": f"-csearch_path={schema}"}))


def _pg_schema(url: str, schema: str):
    """Create the database of ``url`` if missing and an empty ``schema`` in it with the backend's tables."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from elibrary.search.postgresql_rows import metadata

    server = make_url(url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": server.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{server.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    metadata.create_all(engine)
    engine.dispose()


def _index_size_mb(path: str) -> float:
    if not path.startswith(PG_PREFIX):
        folder = Path(path.removeprefix(TANTIVY_PREFIX))
        return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)
    from sqlalchemy import text

    search = open_backend(path)
    with search.engine.connect() as conn:
        size = conn.execute(text("SELECT pg_total_relation_size('search_documents') + pg_total_relation_size('search_terms')")).scalar()
    search.close()
    return round(size / 2**20, 1)


def serve(path: str, n: int) -> dict:
    """Open the index as a fresh serving process would; time each query's first use, then its repeats."""
    from tests.search.judged import load_judged, recall_precision

    mix = queries(n)  # generated before the index is opened: nothing of it is cached
    start = time.perf_counter()
    search = open_backend(path)
    search.search(SearchQuery(text="", with_facets=False))
    report: dict = {"open_s": round(time.perf_counter() - start, 3), "categories": {}}
    first_all: list[float] = []
    repeat_all: list[float] = []
    for category, qs in mix.items():
        firsts, repeats, hits = [], [], []
        for query in qs:
            t0 = time.perf_counter()
            result = search.search(query)
            firsts.append((time.perf_counter() - t0) * 1000)
            hits.append(result.total)
        for query in qs:
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                search.search(query)
                times.append((time.perf_counter() - t0) * 1000)
            repeats.append(statistics.median(times))
        first_all += firsts
        repeat_all += repeats
        report["categories"][category] = {"queries": len(qs), "first_use": _summary(firsts), "repeat": _summary(repeats),
                                      "median_hits": int(statistics.median(hits)), "zero_hits": sum(h == 0 for h in hits)}
    report["first_use"] = _summary(first_all)
    report["repeat"] = _summary(repeat_all)
    suggest_ms, suggested = [], 0
    for query in mix["zero-hit"]:
        t0 = time.perf_counter()
        suggested += bool(search.suggest(query.text))
        suggest_ms.append((time.perf_counter() - t0) * 1000)
    report["suggest_zero_hit"] = {**_summary(suggest_ms), "with_a_suggestion": suggested, "queries": len(suggest_ms)}
    judged_titles = {d.id: d.title for d in judged_documents()}
    recall, precision = recall_precision(search, load_judged(), judged_titles)
    report["judged_top5"] = {"recall": round(recall, 3), "precision": round(precision, 3)}
    report.update(_memory())
    # Another process commits a change; the next search here must see it (reader reopened, caches kept).
    subprocess.run([sys.executable, __file__, "--upsert-one", path, str(n + 1)], check=True)
    t0 = time.perf_counter()
    seen = search.search(SearchQuery(text="ベンチマーク追加", with_facets=False)).ids == [n + 1]
    report["after_commit"] = {"visible": seen, "first_query_ms": round((time.perf_counter() - t0) * 1000, 1)}
    report["memory_end"] = _memory()
    return report


def _memory() -> dict:
    """The serving process's memory: RSS, and what it is made of.

    RSS counts the index's memory-mapped pages the queries touched (``rss_file_mb``: page cache, shared by
    every worker on the server and given back by the kernel under pressure); ``rss_anon_mb`` is the
    worker's own heap. PSS shares each page among the processes mapping it; USS is what only this process
    holds (a mapped file page only it has touched counts there too).
    """
    import psutil

    full = psutil.Process().memory_full_info()
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    kb = lambda key: round(int(status[key].split()[0]) / 1024, 1) if key in status else None  # noqa: E731
    return {"rss_mb": round(full.rss / 2**20, 1), "pss_mb": round(full.pss / 2**20, 1), "uss_mb": round(full.uss / 2**20, 1),
            "rss_anon_mb": kb("RssAnon"), "rss_file_mb": kb("RssFile")}


def build(path: str, n: int) -> dict:
    """Build an index of ``n`` generated titles and the judged catalog, from scratch."""
    if path.startswith(PG_PREFIX):
        schema, _, url = path[len(PG_PREFIX):].partition("@")
        _pg_schema(url, schema)
    elif Path(path.removeprefix(TANTIVY_PREFIX)).exists():
        shutil.rmtree(path.removeprefix(TANTIVY_PREFIX))
    search = open_backend(path)

    def documents():
        yield from catalog(n)
        yield from judged_documents()

    import resource

    def cpu() -> float:  # this process and its finished children (a rebuild's helper processes)
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    start, cpu_start = time.perf_counter(), cpu()
    count = search.rebuild(documents(), progress=lambda d: d % 10000 == 0 and print(f"  {d} indexed", flush=True))
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu_start
    search.close()
    if path.startswith(PG_PREFIX):
        from sqlalchemy import text

        search = open_backend(path)
        with search.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE search_documents"))  # as autovacuum would soon after
        search.close()
    # CPU seconds say what the build costs whatever else the machine is doing (PostgreSQL's own work is not in them).
    helper_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest finished child (KB on Linux)
    return {"titles": count, "build_s": round(seconds, 1), "cpu_s": round(cpu_seconds, 1), "docs_per_s": round(count / seconds),
            "size_mb": _index_size_mb(path), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "helper_peak_rss_mb": round(helper_peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--out", default="/tmp/elibrary-bench")
    parser.add_argument("--backends", nargs="+", default=["whoosh", "tantivy"], choices=["whoosh", "tantivy", "postgresql"])
    parser.add_argument("--serve", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--upsert-one", nargs=2, metavar=("PATH", "ID"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-build", action="store_true", help="reuse indexes already built in --out")
    parser.add_argument("--backend", action="append", choices=["whoosh", "tantivy", "postgresql"], help="only this backend (repeatable)")
    parser.add_argument("--pg-url", default="postgresql://root@127.0.0.1:5432/elibrary_bench", help="for the postgresql backend")
    args = parser.parse_args()
    if args.backend:
        args.backends = args.backend
    if args.upsert_one:
        search = open_backend(args.upsert_one[0])
        search.upsert([SearchDocument(id=int(args.upsert_one[1]), title="ベンチマーク追加書誌")])
        search.close()
        return
    if args.serve:
        print(json.dumps(serve(args.serve[0], int(args.serve[1]))))
        return
    vocab = vocabulary(VOCAB_CACHE)
    print("vocabulary:", {k: len(v) for k, v in vocab.items()}, flush=True)
    for n in args.sizes:
        for name in args.backends:
            if name == "postgresql":
                path = f"{PG_PREFIX}bench_{n}@{args.pg_url}"
            else:
                path = str(Path(args.out) / f"index-{n}") if name == "whoosh" else f"{TANTIVY_PREFIX}{Path(args.out) / f'tantivy-{n}'}"
            print(f"== {n} titles ({name})", flush=True)
            if not args.skip_build:
                print("build:", json.dumps(build(path, n)), flush=True)
            out = subprocess.run([sys.executable, __file__, "--serve", path, str(n)], check=True, capture_output=True, text=True)
            print("serve:", json.dumps(json.loads(out.stdout), indent=1, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
