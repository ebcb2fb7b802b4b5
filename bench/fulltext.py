"""Benchmark of 本文検索 (the book-text index): generated books of realistic length, built and searched through the real code.

    .venv/bin/pip install -e '.[bench]'   # Janome's IPADIC words (bench/search.py's vocabulary)
    flock /tmp/bench.lock .venv/bin/python bench/fulltext.py --books 2000 --dir /tmp/bench-fulltext

1. **generate**: ``--books`` titles, each with an EPUB of 100k–300k characters of generated Japanese (IPADIC nouns
   drawn head-heavily, particles, verb endings, punctuation, dialogue, a cast of character names per book, some
   English words and numbers; chapters of ~20k characters, paragraphs), stored through ``attach_book_file`` in
   the instance's storage folder, with an open licence, in a SQLite database migrated by ``upgrade_database``.
2. **build**: ``text_indexing.rebuild`` (read each EPUB from storage, extract, fold, cut passages, index with
   tantivy) — the work of ``elibrary search reindex-text``; the wall time and the index folder's size.
3. **serve**: a fresh process (a new worker) opens the runtime, then asks every query of the set once (first use)
   and again (repeat) through ``catalog.text_search.search_text`` — the index, the database check of each
   hit and the snippets, i.e. a page without its rendering; p50/p95 per kind, and the RSS the worker added.

``--subset N`` builds and searches an index of the generated set's first N titles (a smaller library with the
same books and queries); ``--cold`` evicts the index from the page cache first and reports what the run read
(``fincore``) and what the worker mapped (``smaps``); ``--warm-mb``/``--warm-wait`` turn on the worker's warm-up
(``ELIBRARY_BOOKTEXT_WARM_MB``) and wait for it; ``--answers`` records each query's titles.

Queries: common words (the 20 commonest nouns), rare words (nouns ranked 20,000–60,000), phrases of 2–20
characters cut from the generated books, character names, two-word queries, and zero-hit strings.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # bench/search.py, after the packages (bench/readers.py is no package)

SEED = 20261205
PARTICLE_JOINERS = ["の", "の", "の", "は", "が", "を", "に", "で", "と", "も", "へ", "から", "まで", "より", "や", "について", "として"]
ENDINGS = ["を見た。", "だった。", "である。", "していた。", "と言った。", "があった。", "になった。", "を考えた。", "が好きだった。",
           "。\n", "、", "、", "、", "を知らない。", "ではない。", "かもしれない。", "だろう。", "でした。\n", "ました。"]
EXTRAS = [" Python ", " data ", " library ", " OK ", "2026年", "3月", "第12章", "100人", "1.5倍", "午後3時", " e-book ", "ＡＢＣ", "ｶﾀｶﾅ"]


def _joiners() -> tuple[list[str], list[float]]:
    """What follows a noun: particles (most), sentence endings, and now and then English or a number."""
    items = PARTICLE_JOINERS * 4 + ENDINGS * 2 + EXTRAS
    return items, list(itertools.accumulate([1.0] * len(items)))


def book_text(rng: random.Random, length: int, nouns: list[str], cum: list[float], cast: list[str]) -> str:
    """About ``length`` characters: nouns joined by particles and endings, the cast's names in 3 % of the places."""
    joiners, joiner_cum = _joiners()
    parts: list[str] = []
    size = 0
    while size < length:
        words = rng.choices(nouns, cum_weights=cum, k=4000)
        ends = rng.choices(joiners, cum_weights=joiner_cum, k=4000)
        for i in range(0, 4000, 33):
            words[i] = rng.choice(cast)
        for i in range(7, 4000, 211):
            ends[i] = "。「" + rng.choice(words) + "は" + rng.choice(words) + "だ」と" + rng.choice(cast) + "は言った。\n"
        chunk = "".join(map(str.__add__, words, ends))
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)[:length]


def make_epub(title: str, text: str) -> bytes:
    """An EPUB 3 of ``text`` in chapters of about 20,000 characters, one <p> per line."""
    from xml.sax.saxutils import escape

    from elibrary.demo import epub

    pub = epub.Publication(isbn="9784000000002", title=title, title_reading="ベンチ", creators=[epub.Creator("試験", "シケン")])
    for n, start in enumerate(range(0, len(text), 20_000), 1):
        body = "".join(f"<p>{escape(line)}</p>\n" for line in text[start : start + 20_000].split("\n") if line)
        pub.add(epub.Item(f"c{n}", f"c{n}.xhtml", "application/xhtml+xml", epub.xhtml_page(f"第{n}章", body), in_spine=True, label=f"第{n}章"))
    return epub.build_epub3(pub)


def runtime_for(instance: Path, subset: int | None = None, warm_mb: int = 0):
    """The app's runtime on the instance folder: SQLite, local storage, the tantivy book-text index (of the first
    ``subset`` titles in a folder of its own, when given); no inline indexing."""
    from elibrary.wiring import build_runtime, instance_settings

    overrides = {"ELIBRARY_SEARCH": "memory", "ELIBRARY_BOOKTEXT": "tantivy", "ELIBRARY_SEARCH_SYNC": False, "TESTING": True,
                 "ELIBRARY_NOTIFIER": "memory", "ELIBRARY_BOOKTEXT_WARM_MB": warm_mb}
    if subset:
        overrides["ELIBRARY_BOOKTEXT_PATH"] = str(instance / f"booktext-index-{subset}")
    rt = build_runtime(instance_settings(str(instance), overrides, environ={}))
    rt.text_indexer.stop()  # no background thread follows the log here: the build phase times the index itself
    rt.indexer.stop()
    return rt


def generate(instance: Path, books: int) -> dict:
    """Titles with EPUBs in storage and open licences; returns the query material."""
    import io

    from search import VOCAB_CACHE, _Zipf, vocabulary  # bench/search.py

    from elibrary.catalog.files import attach_book_file
    from elibrary.catalog.models import Title
    from elibrary.lending import services as lending
    from elibrary.migrate import upgrade_database

    vocab = vocabulary(VOCAB_CACHE)
    nouns = [s for s, _ in vocab["nouns"]]
    cum = _Zipf(nouns, 1.0).cum
    surnames, given = [s for s, _ in vocab["surnames"][:3000]], [s for s, _ in vocab["given"][:3000]]
    rt = runtime_for(instance)
    upgrade_database(rt.db.engine)
    rng = random.Random(SEED)
    phrases, names, chars = [], [], 0
    started = time.perf_counter()
    for n in range(books):
        cast = [rng.choice(surnames) + rng.choice(given) for _ in range(5)]
        text = book_text(rng, rng.randint(100_000, 300_000), nouns, cum, cast)
        chars += len(text)
        if n % 20 == 0:
            names.append(cast[0])
            for _ in range(2):
                at, size = rng.randrange(len(text) - 40), rng.randint(2, 20)
                piece = text[at : at + size]
                if "\n" not in piece:
                    phrases.append(piece)
        with rt.db.scope() as session:
            title = Title(title=f"生成された本 {n + 1}")
            session.add(title)
            session.flush()
            attach_book_file(session, rt.storage, title, io.BytesIO(make_epub(title.title, text)), "application/epub+zip")
            lending.add_license(session, title.id, "open")
        if (n + 1) % 100 == 0:
            print(f"  generated {n + 1} books, {chars / 1e6:.0f}M characters, {time.perf_counter() - started:.0f} s", flush=True)
    material = {"books": books, "characters": chars, "common": nouns[:20], "rare": rng.sample(nouns[20_000:60_000], 20),
                "phrases": phrases[:40], "names": names[:20],
                "two_words": [f"{rng.choice(nouns[:2000])} {rng.choice(nouns[:2000])}" for _ in range(10)],
                "zero": ["".join(rng.choice("鬱鑿麤龘驫靐齉") for _ in range(4)) + str(i) for i in range(10)]}
    (instance / "material.json").write_text(json.dumps(material, ensure_ascii=False), encoding="utf-8")
    rt.db.dispose()
    return material


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def build(instance: Path, subset: int | None) -> dict:
    """Rebuild the text index from storage (of the first ``subset`` titles, when given), timed."""
    from elibrary.catalog import text_indexing

    rt = runtime_for(instance, subset)
    searchable = rt.text_indexer.searchable
    if subset:  # the generator is seeded: the first N titles of a larger set are a smaller library
        def searchable(session, ids, allowed=rt.text_indexer.searchable):
            return {i for i in allowed(session, ids) if i <= subset}
    started = time.perf_counter()
    with rt.db.scope(write=False) as session:
        count = text_indexing.rebuild(session, rt.booktext, rt.storage, searchable)
    seconds = time.perf_counter() - started
    folder = Path(rt.settings["ELIBRARY_BOOKTEXT_PATH"])
    status = rt.booktext.status()
    segments = rt.booktext._open().searcher().num_segments
    return {"titles": count, "passages": status.get("passages"), "build_seconds": round(seconds, 1),
            "index_mb": round(_size_mb(folder), 1), "segments": segments, "mb_by_kind": _mb_by_kind(folder)}


def _mb_by_kind(folder: Path) -> dict[str, float]:
    """The index's size by kind of file (``.idx`` postings, ``.pos`` positions, ``.term`` dictionary, ``.store`` passages …)."""
    kinds: dict[str, float] = {}
    for path in folder.iterdir():
        if path.is_file():
            kinds[path.suffix or path.name] = kinds.get(path.suffix or path.name, 0) + path.stat().st_size / 1e6
    return {kind: round(mb, 1) for kind, mb in sorted(kinds.items(), key=lambda item: -item[1])}


def resident_by_kind(folder: Path) -> dict[str, float]:
    """MB of each kind of index file in the page cache (``fincore``): after ``evict`` and a run, what the run read."""
    files = [str(path) for path in folder.iterdir() if path.is_file()]
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,FILE", *files],
                         check=True, capture_output=True, text=True).stdout
    kinds: dict[str, float] = {}
    for line in out.splitlines():
        resident, _, name = line.partition(" ")
        kind = Path(name).suffix or Path(name).name
        kinds[kind] = kinds.get(kind, 0) + int(resident) / 1e6
    return {kind: round(mb, 1) for kind, mb in sorted(kinds.items(), key=lambda item: -item[1])}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(p / 100 * (len(ordered) - 1))), len(ordered) - 1)]


def serve(instance: Path, subset: int | None, warm_mb: int, warm_wait: bool, answers: Path | None) -> dict:
    """In a fresh process: RSS before and after, each query once (first use) and again (repeat), in ms.

    With ``warm_mb`` the index reads itself into the page cache in the background from its first open (as a
    worker does); ``warm_wait`` opens it and waits for that read to end before the first query."""
    import psutil

    from elibrary.catalog.text_search import search_text

    process = psutil.Process()
    rt = runtime_for(instance, subset, warm_mb)
    before, before_kinds = process.memory_info().rss, _rss_kinds()
    material = json.loads((instance / "material.json").read_text(encoding="utf-8"))
    kinds = ("common", "rare", "phrases", "names", "two_words", "zero")
    out: dict = {}
    if warm_wait:
        started = time.perf_counter()
        rt.booktext.status()
        rt.booktext.warmer.done.wait()
        out["warm_seconds"] = round(time.perf_counter() - started, 1)
    found_titles: dict[str, list[int]] = {}
    for run in ("first", "repeat"):
        every = []
        for kind in kinds:
            times, hits = [], []
            for query in material[kind]:
                started = time.perf_counter()
                with rt.db.scope(write=False) as session:
                    found = search_text(session, rt.booktext, rt.text_indexer.searchable, query)
                times.append((time.perf_counter() - started) * 1000)
                hits.append(len(found))
                found_titles[query] = [match.title.id for match in found]
            every += times
            out[f"{run}.{kind}"] = {"p50": round(statistics.median(times), 1), "p95": round(_pct(times, 95), 1),
                                    "max": round(max(times), 1), "mean_hits": round(statistics.mean(hits), 1)}
        out[f"{run}.all"] = {"p50": round(statistics.median(every), 1), "p95": round(_pct(every, 95), 1), "n": len(every),
                             "ms": [round(t, 2) for t in every]}  # to pool several runs
    if rt.booktext.warmer is not None:
        out["warm_read_mb"] = round(rt.booktext.warmer.read_bytes / 1e6, 1)
        out["warm_done"] = rt.booktext.warmer.done.is_set()
    out["mapped_mb_by_kind"] = _mapped_by_kind(Path(rt.settings["ELIBRARY_BOOKTEXT_PATH"]))
    if answers is not None:
        answers.write_text(json.dumps(found_titles, ensure_ascii=False), encoding="utf-8")
    out["rss_added_mb"] = round((process.memory_info().rss - before) / 1e6, 1)
    out["rss_mb"] = round(process.memory_info().rss / 1e6, 1)
    after_kinds = _rss_kinds()
    # RssFile is the index's memory-mapped pages this worker touched: shared with the other workers and the
    # page cache, given back under memory pressure; RssAnon is the worker's own heap
    out["rss_anon_added_mb"] = round((after_kinds["RssAnon"] - before_kinds["RssAnon"]) / 1e3, 1)
    out["rss_file_added_mb"] = round((after_kinds["RssFile"] - before_kinds["RssFile"]) / 1e3, 1)
    return out


def evict(folder: Path) -> float:
    """Drop ``folder``'s files from the page cache (posix_fadvise DONTNEED; no root needed): a server's first search after a restart."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
            total += path.stat().st_size
    return round(total / 1e6, 1)


def _mapped_by_kind(folder: Path) -> dict[str, float]:
    """MB of each kind of index file this process has in its memory map (``/proc/self/smaps`` Rss): the pages
    its searches touched (the page cache may hold more: the kernel reads ahead around each fault)."""
    kinds: dict[str, float] = {}
    current = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and "-" in fields[0] and not fields[0].endswith(":"):  # a mapping: address perms offset dev inode [path]
            current = Path(fields[5]) if len(fields) >= 6 and fields[5].startswith(str(folder)) else None
        elif current is not None and fields[0] == "Rss:":
            kind = current.suffix or current.name
            kinds[kind] = kinds.get(kind, 0) + int(fields[1]) / 1e3
    return {kind: round(mb, 1) for kind, mb in sorted(kinds.items(), key=lambda item: -item[1])}


def _rss_kinds() -> dict[str, int]:
    """RssAnon and RssFile of this process in kB (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile"):
            fields[name] = int(value.split()[0])
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-fulltext"))
    parser.add_argument("--phase", choices=["all", "generate", "build", "serve", "_serve"], default="all")
    parser.add_argument("--subset", type=int, help="build and search an index of the first N titles only (a smaller library)")
    parser.add_argument("--cold", action="store_true", help="evict the index files from the page cache before serving")
    parser.add_argument("--warm-mb", type=int, default=0, help="ELIBRARY_BOOKTEXT_WARM_MB of the serving worker")
    parser.add_argument("--warm-wait", action="store_true", help="wait for the worker's warm-up before the first query")
    parser.add_argument("--answers", type=Path, help="write each query's titles (first use) to this JSON file")
    args = parser.parse_args()
    instance = args.dir / f"books-{args.books}"
    if args.phase == "_serve":
        print(json.dumps(serve(instance, args.subset, args.warm_mb, args.warm_wait, args.answers), ensure_ascii=False))
        return
    instance.mkdir(parents=True, exist_ok=True)
    index = instance / (f"booktext-index-{args.subset}" if args.subset else "booktext-index")
    report: dict = {"load_before": os.getloadavg()}
    if args.phase in ("all", "generate"):
        started = time.perf_counter()
        material = generate(instance, args.books)
        report["generate"] = {"books": material["books"], "characters": material["characters"], "seconds": round(time.perf_counter() - started, 1)}
    if args.phase in ("all", "build"):
        report["build"] = build(instance, args.subset)
        report["load_after_build"] = os.getloadavg()
    if args.phase in ("all", "serve"):
        if args.cold:
            report["evicted_mb"] = evict(index)
        argv = [a if a not in ("serve", "all") else "_serve" for a in sys.argv[1:]]
        if "--phase" not in argv:
            argv += ["--phase", "_serve"]
        result = subprocess.run([sys.executable, __file__, *argv], check=True, capture_output=True, text=True)
        report["serve"] = json.loads(result.stdout.strip().splitlines()[-1])
        if args.cold:  # evicted before: what is in the page cache now is what the run (and its warm-up) read
            report["read_mb_by_kind"] = resident_by_kind(index)
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
