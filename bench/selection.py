"""Selection benchmark: a realistic 50,000-offer pool file imported, then the pool search page and list edits
on a 3,000-line list, requested as a librarian does, through the whole Flask application.

    .venv/bin/pip install -e '.[bench]'   # Janome, whose IPADIC words and names give the vocabulary
    flock /tmp/bench.lock .venv/bin/python bench/selection.py [--offers 50000] [--lines 3000] [--database-url URL] [--out DIR]

The pool: the titles of ``bench/search.py``'s generated catalog (IPADIC nouns drawn head-heavy, particles,
NDL readings, names with the space and their readings, series, subtitles, 15 % English), about 1.25
offers per title from two distributors, 400 publishers (a few big ones, many small), as a distributor's
CSV with Japanese headers. ``--database-url`` names a PostgreSQL database that is dropped and made again
(default: SQLite in ``--out``).

Timed:

- the import of the file through ``elibrary import csv --pool``'s code (``run_pool_import``: parse, write,
  committed per batch, the statistics refreshed);
- the pool search page ``GET /staff/selection/`` for a signed-in librarian (test client, the whole app:
  sign-in check, search, facets, the page's offers, the template), for queries of the kinds librarians
  type: a common word, a rarer word, a whole title, an author with and without the space, a reading in
  hiragana and katakana, an ISBN plain and hyphenated, a publisher, facets only, facets and words, price and
  licence filters, not owned / not on a list, one character, zero hits, a later page. Each query is run
  once (first use), then ``--repeats`` times; the headline is the p50 / p95 of the repeats;
- on a list of ``--lines`` lines: adding a line, changing its quantity and fund, a comment, marking it
  採用 (each a POST answered with a redirect), and the list page (the first and the last page of lines,
  with the whole list's totals and warnings).

Prints medians and p95 in milliseconds, hit counts per kind, and the load average.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 20270401
HEADER = ["ISBN", "書名", "書名ヨミ", "サブタイトル", "シリーズ名", "著者", "著者ヨミ", "出版社", "出版日", "NDC", "対象", "提供元",
          "商品コード", "ライセンス種別", "同時貸出数", "貸出回数", "利用期間（月）", "価格（税抜）", "税率"]
MODELS = [("ワンコピー", "", "", ""), ("回数制限", "1", "26", ""), ("期間制限", "1", "", "24"), ("同時アクセス", "3", "", "")]
AUDIENCE_WORDS = {"general": "一般", "children": "児童", "ya": "YA"}
DISTRIBUTORS = ["ほんのもり", "電子取次A"]


def _search_bench():
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def publishers(sb, rng: random.Random) -> list[str]:
    """400 publishers: the big names of the catalog benchmark, then small ones named after words and families."""
    vocab = sb.vocabulary(sb.VOCAB_CACHE)
    names = list(sb.PUBLISHERS)
    while len(names) < 400:
        word = rng.choice(vocab["nouns"][:3000])[0] if rng.random() < 0.6 else rng.choice(vocab["surnames"][:2000])[0]
        name = word + rng.choice(["書房", "出版", "社", "書店", "出版社", "館", "プレス"])
        if name not in names:
            names.append(name)
    return names


def write_pool(path: Path, offers: int, sb) -> list:
    """A distributor CSV of ``offers`` rows (a quarter of the titles with two offers); returns the titles."""
    rng = random.Random(SEED)
    names = publishers(sb, rng)
    publisher = sb._Zipf(names, 1.0)
    docs = []
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        rows = 0
        for doc in sb.catalog(offers):
            docs.append((doc, publisher(rng)))
            for model in rng.sample(MODELS, 2 if rng.random() < 0.25 else 1):
                distributor = rng.choice(DISTRIBUTORS)
                writer.writerow([doc.isbn, doc.title, doc.title_reading, doc.subtitle, doc.series, "; ".join(doc.contributors),
                                 "; ".join(r.replace(",", "") for r in doc.contributor_readings), docs[-1][1],
                                 doc.published.isoformat(), doc.ndc, AUDIENCE_WORDS[doc.audience], distributor,
                                 f"{doc.isbn}-{model[0]}", *model, rng.randrange(800, 6000, 100), 10])
                rows += 1
            if rows >= offers:
                break
    return docs


def query_mix(docs: list, sb) -> dict[str, list[dict]]:
    """The pool page's query strings, by kind (drawn from the pool itself)."""
    rng = random.Random(SEED + 1)
    vocab = sb.vocabulary(sb.VOCAB_CACHE)
    picks = rng.sample(docs, 400)
    ja = [(d, p) for d, p in picks if d.language == "ja"]
    nospace = lambda name: name.replace(" ", "")  # noqa: E731
    kata = lambda reading: reading.replace(" ", "").replace(",", "")  # noqa: E731
    common = [w for w, _ in vocab["nouns"][:40]]
    rarer = [w for w, _ in vocab["nouns"][3000:30000:1350]]
    return {
        "common word": [{"q": w} for w in common[:15]],
        "rarer word": [{"q": w} for w in rarer[:15]],
        "whole title": [{"q": d.title} for d, _ in ja[:15]],
        "author with space": [{"q": d.contributors[0]} for d, _ in ja[15:30]],
        "author without space": [{"q": nospace(d.contributors[0])} for d, _ in ja[30:45]],
        "reading (hiragana)": [{"q": sb._as_typed(d.title_reading)} for d, _ in ja[45:60] if d.title_reading],
        "reading (katakana)": [{"q": kata(d.contributor_readings[0].split(",")[0])} for d, _ in ja[60:75]],
        "isbn": [{"q": d.isbn} for d, _ in picks[100:108]] + [{"q": f"{d.isbn[:3]}-{d.isbn[3]}-{d.isbn[4:8]}-{d.isbn[8:12]}-{d.isbn[12]}"}
                                                             for d, _ in picks[108:115]],
        "publisher": [{"publisher": p} for _, p in picks[115:130]],
        "facets only": [{"ndc": str(rng.randrange(10)), "audience": rng.choice(["children", "general", "ya"])} for _ in range(8)]
                       + [{"model": rng.choice(["one-copy", "metered-loans", "metered-time", "concurrent"])} for _ in range(7)],
        "facets + words": [{"q": rng.choice(common), "ndc": str(rng.randrange(10)), "audience": rng.choice(["children", "general"])}
                           for _ in range(15)],
        "price + licence": [{"price_min": "1000", "price_max": "2000", "model": "metered-loans"},
                            {"price_max": "1500"}, {"price_min": "5000", "model": "one-copy"}] * 5,
        "not owned, not on a list": [{"q": rng.choice(common), "owned": "no", "on_list": "no"} for _ in range(10)]
                                    + [{"owned": "no", "on_list": "no"}] * 5,
        "one character": [{"q": c} for c in "猫犬海山川空花森本学人日の子水"],
        "zero hits": [{"q": f"{rng.choice(vocab['nouns'][-2000:])[0]} {rng.choice(vocab['nouns'][-2000:])[0]}"} for _ in range(10)]
                     + [{"q": "xyzzy"}] * 5,
        "later page": [{"q": w, "page": str(rng.randint(2, 20))} for w in common[15:30]],
    }


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def fresh_database(url: str) -> None:
    """Drop and create the PostgreSQL database ``url`` names."""
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def sign_in_librarian(client, rt, run: str) -> str:
    """A librarian signed in through /staff/login (password and TOTP); returns the CSRF token."""
    from tests.conftest import csrf_token_for, sign_in_staff

    sign_in_staff(client, rt, "librarian", email=f"bench-librarian-{run}@city.example.jp")
    return csrf_token_for(client)


def timed(call) -> tuple[float, object]:
    began = time.perf_counter()
    result = call()
    return (time.perf_counter() - began) * 1000, result


def measure_pool_page(client, mix: dict[str, list[dict]], repeats: int) -> list[float]:
    """Each query once (first use), then ``repeats`` times; prints per kind; returns the repeat samples."""
    every: list[float] = []
    first_all: list[float] = []
    print(f"{'kind':<26} {'n':>3} {'first p50':>9} {'first max':>9} {'p50':>7} {'p95':>7} {'max':>7}  hits (median, max)")
    for kind, queries in mix.items():
        first, repeat, hits = [], [], []
        for params in queries:
            ms, response = timed(lambda p=params: client.get("/staff/selection/", query_string=p))
            assert response.status_code == 200, (params, response.status_code)
            page = response.get_data(as_text=True)
            hits.append(int(page.split('id="pool-count" role="status">', 1)[1].split("件", 1)[0]))
            first.append(ms)
            for _ in range(repeats):
                repeat.append(timed(lambda p=params: client.get("/staff/selection/", query_string=p))[0])
        every.extend(repeat)
        first_all.extend(first)
        print(f"{kind:<26} {len(queries):>3} {statistics.median(first):>9.1f} {max(first):>9.1f} {statistics.median(repeat):>7.1f} "
              f"{p95(repeat):>7.1f} {max(repeat):>7.1f}  {int(statistics.median(hits))}, {max(hits)}")
    print(f"pool page, all kinds: first use p50 {statistics.median(first_all):.1f} ms, p95 {p95(first_all):.1f} ms; "
          f"repeat p50 {statistics.median(every):.1f} ms, p95 {p95(every):.1f} ms, max {max(every):.1f} ms (n={len(every)})", flush=True)
    return every


def build_list(rt, lines: int, run: str) -> tuple[int, int, int, list[int]]:
    """A list of ``lines`` lines (written in bulk: setting up is not what is timed); returns list, fund, a second
    fund and offer ids not on it yet."""
    from sqlalchemy import insert, select, text

    from elibrary.selection import funds, lists
    from elibrary.selection.models import PoolOffer, SelectionLine
    from elibrary.staff.models import StaffUser

    with rt.db.scope() as session:
        staff = session.scalars(select(StaffUser).where(StaffUser.email == f"bench-librarian-{run}@city.example.jp")).one()
        fund = funds.create_fund(session, staff, 2027, f"一般書 {run}", 30_000_000)
        other = funds.create_fund(session, staff, 2027, f"児童書 {run}", 10_000_000)
        big = lists.create_list(session, staff, "令和9年度 第1回選書")
        side = lists.create_list(session, staff, "児童書 候補")
        offers = list(session.scalars(select(PoolOffer.id).order_by(PoolOffer.id)))
        rng = random.Random(SEED + 2)
        rng.shuffle(offers)
        chosen, rest = offers[:lines], offers[lines:]
        session.execute(insert(SelectionLine), [
            {"list_id": big.id, "offer_id": offer_id, "quantity": 1 + n % 3, "fund_id": (fund.id, other.id, None)[n % 3],
             "decision": ("undecided", "adopted", "held", "rejected")[n % 4], "added_by": staff.id, "note": ""}
            for n, offer_id in enumerate(chosen)])
        session.execute(insert(SelectionLine), [{"list_id": side.id, "offer_id": o, "quantity": 1, "added_by": staff.id, "note": ""}
                                                for o in chosen[::7]])
        # A real list grows over weeks and the statistics follow it (PostgreSQL's autovacuum); these lines came at once.
        session.execute(text("ANALYZE selection_lines"))
        return big.id, fund.id, other.id, rest


def measure_list_edits(client, token: str, list_id: int, fund_id: int, other_fund: int, offers: list[int], lines: int, edits: int) -> None:
    """Add a line, change its quantity and fund, comment, mark it 採用; load the list's first and last page."""
    import re

    from elibrary.selection.lists import LINES_PER_PAGE

    times: dict[str, list[float]] = {k: [] for k in ("add a line", "change quantity and fund", "comment", "mark 採用",
                                                     "list page 1", "list last page")}
    last = (lines + edits) // LINES_PER_PAGE + 1
    for n, offer_id in enumerate(offers[:edits + 1]):
        ms, response = timed(lambda o=offer_id: client.post("/staff/selection/lines", data={
            "csrf_token": token, "list_id": list_id, "offer_id": o, "quantity": "1", "fund_id": fund_id}))
        assert response.status_code == 303, response.status_code
        ms_page, page = timed(lambda: client.get(f"/staff/selection/lists/{list_id}", query_string={"page": last}))
        assert page.status_code == 200
        line_id = int(re.findall(r'id="line-(\d+)"', page.get_data(as_text=True))[-1])
        steps = [("change quantity and fund", {"action": "update", "quantity": "2", "fund_id": other_fund, "note": "複本"}),
                 ("comment", {"action": "comment", "text": "児童室と相談済み"}),
                 ("mark 採用", {"action": "decide", "decision": "adopted"})]
        samples = [("add a line", ms), ("list last page", ms_page)]
        for label, form in steps:
            ms, response = timed(lambda f=form, i=line_id: client.post(f"/staff/selection/lines/{i}", data={"csrf_token": token, **f}))
            assert response.status_code == 303, (label, response.status_code)
            samples.append((label, ms))
        ms, response = timed(lambda: client.get(f"/staff/selection/lists/{list_id}"))
        assert response.status_code == 200
        samples.append(("list page 1", ms))
        if n:  # the first round warms the process up
            for label, value in samples:
                times[label].append(value)
    for label, samples in times.items():
        print(f"{label:<26} median {statistics.median(samples):6.1f} ms  p95 {p95(samples):6.1f} ms  max {max(samples):6.1f} ms (n={len(samples)})")
    flat = [v for samples in times.values() for v in samples]
    print(f"list edits and pages, all: p50 {statistics.median(flat):.1f} ms, p95 {p95(flat):.1f} ms (n={len(flat)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=3_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--database-url")
    parser.add_argument("--out")
    parser.add_argument("--reuse", action="store_true", help="time the pages on the pool already imported in --out / --database-url")
    args = parser.parse_args()
    sb = _search_bench()
    folder = Path(args.out or tempfile.mkdtemp(prefix="elibrary-bench-selection-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    if args.reuse:
        pass
    elif args.database_url:
        fresh_database(url)
    elif (folder / "bench.db").exists():
        (folder / "bench.db").unlink()
    pool_file = folder / "pool.csv"
    docs = write_pool(pool_file, args.offers, sb)
    print(f"pool file: {pool_file.stat().st_size / 1e6:.1f} MB, {args.offers} offers of {len(docs)} titles; "
          f"database {url.split('://')[0]}; load average {os.getloadavg()[0]:.1f}", flush=True)

    from catalog_import.pool import run_pool_import
    from elibrary import create_app
    from elibrary.db import make_engine
    from elibrary.migrate import upgrade_database

    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    app = create_app({"ELIBRARY_INSTANCE_PATH": str(folder / "instance"), "ELIBRARY_DATABASE_URL": url, "ELIBRARY_SEARCH": "whoosh",
                      "ELIBRARY_SEARCH_SYNC": True, "ELIBRARY_STORAGE": "local", "ELIBRARY_NOTIFIER": "memory", "ELIBRARY_ILS": "local"})
    rt = app.extensions["elibrary"]
    if not args.reuse:
        seconds, summary = timed(lambda: run_pool_import(rt, "csv", [str(pool_file)]))
        print(f"import: {seconds / 1000:.1f} s; {summary.line()}; load average {os.getloadavg()[0]:.1f}", flush=True)

    client = app.test_client()
    run = str(int(time.time()))
    token = sign_in_librarian(client, rt, run)
    list_id, fund_id, other_fund, offers = build_list(rt, args.lines, run)
    print(f"pool search page ({args.repeats} repeats after the first use); load average {os.getloadavg()[0]:.1f}", flush=True)
    measure_pool_page(client, query_mix(docs, sb), args.repeats)
    print(f"list of {args.lines} lines; load average {os.getloadavg()[0]:.1f}", flush=True)
    measure_list_edits(client, token, list_id, fund_id, other_fund, offers, args.lines, args.edits)
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    rt.db.dispose()


if __name__ == "__main__":
    main()
