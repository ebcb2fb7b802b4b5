"""Selection benchmark: import a synthetic 50,000-offer pool file, then time pool searches and list edits.

    .venv/bin/python bench/selection.py [--offers 50000] [--lines 3000] [--database-url URL] [--out DIR]

Writes a distributor CSV (UTF-8, Japanese headers, one row per offer: about 1.25 offers per title) and
imports it with the real parser and writer (``catalog_import.pool.pool_items`` → ``pool.import_pool``, committed
per batch), then times 200 pool searches (words, readings, facets, price ranges; each with its facet
counts) and list edits (add a line, change its quantity, then load the whole list with its totals and
warnings) on a list of ``--lines`` lines. Prints medians and p95 in milliseconds.
"""
from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog_import.pool import pool_items  # noqa: E402
from elibrary.catalog.isbn import make_isbn13  # noqa: E402
from elibrary.db import Database  # noqa: E402
from elibrary.migrate import upgrade_database  # noqa: E402
from elibrary.selection import funds, lists  # noqa: E402
from elibrary.selection.models import PoolOffer  # noqa: E402
from elibrary.selection.pool import import_pool  # noqa: E402
from elibrary.selection.search import PoolQuery, search_pool  # noqa: E402
from elibrary.staff.models import Role, StaffUser  # noqa: E402

SEED = 20270401
WORDS = [("図書", "トショ"), ("日本", "ニホン"), ("歴史", "レキシ"), ("物語", "モノガタリ"), ("入門", "ニュウモン"), ("世界", "セカイ"),
         ("科学", "カガク"), ("子ども", "コドモ"), ("宇宙", "ウチュウ"), ("動物", "ドウブツ"), ("恐竜", "キョウリュウ"), ("鉄道", "テツドウ"),
         ("料理", "リョウリ"), ("音楽", "オンガク"), ("昆虫", "コンチュウ"), ("絵本", "エホン"), ("學校", "ガッコウ"), ("森", "モリ")]
AUTHORS = [("夏目漱石", "ナツメ ソウセキ"), ("宮沢賢治", "ミヤザワ ケンジ"), ("山田太郎", "ヤマダ タロウ"), ("森花子", "モリ ハナコ"),
           ("髙橋一郎", "タカハシ イチロウ"), ("渡邊浩", "ワタナベ ヒロシ")]
MODELS = [("ワンコピー", "", "", ""), ("回数制限", "1", "26", ""), ("期間制限", "1", "", "24"), ("同時アクセス", "3", "", "")]
HEADER = ["ISBN", "書名", "書名ヨミ", "著者", "著者ヨミ", "出版社", "出版日", "NDC", "対象", "提供元", "商品コード", "ライセンス種別",
          "同時貸出数", "貸出回数", "利用期間（月）", "価格（税抜）", "税率"]


def write_pool(path: Path, offers: int) -> None:
    """A distributor CSV of ``offers`` rows (some titles with two offers)."""
    rng = random.Random(SEED)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        row = title_no = 0
        while row < offers:
            title_no += 1
            a, b = rng.choice(WORDS), rng.choice(WORDS)
            author = rng.choice(AUTHORS)
            isbn = make_isbn13(f"9784{title_no:08d}")
            for model in rng.sample(MODELS, 2 if rng.random() < 0.25 else 1):
                writer.writerow([isbn, f"{a[0]}と{b[0]}の本 {title_no}", f"{a[1]} ト {b[1]} ノ ホン", author[0], author[1],
                                 f"出版社{rng.randint(1, 300)}", f"20{rng.randint(10, 26)}-{rng.randint(1, 12):02d}-01",
                                 f"{rng.randint(0, 9)}{rng.randint(0, 99):02d}", rng.choice(["一般", "児童", "YA"]),
                                 rng.choice(["ほんのもり", "電子取次A"]), f"{isbn}-{model[0]}", *model,
                                 rng.randrange(800, 6000, 100), 10])
                row += 1
                if row >= offers:
                    break


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=3_000)
    parser.add_argument("--database-url")
    parser.add_argument("--out")
    args = parser.parse_args()
    folder = Path(args.out or tempfile.mkdtemp(prefix="elibrary-bench-selection-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    db = Database(url)
    upgrade_database(db.engine)
    pool_file = folder / "pool.csv"
    write_pool(pool_file, args.offers)

    session = db.session(write=True)
    started = time.perf_counter()
    summary = import_pool(session, pool_items("csv", [str(pool_file)], "floor"), on_batch=lambda s: s.commit())
    session.commit()
    print(f"import: {args.offers} offers ({summary.titles_added} titles) in {time.perf_counter() - started:.1f} s; {summary.line()}")

    rng = random.Random(SEED + 1)
    queries = []
    kinds = ("word", "reading", "word+author reading", "word+facets", "price+model", "author+not owned+not listed")
    for _ in range(200):
        kind = rng.randrange(6)
        word = rng.choice(WORDS)
        with_author = f"{word[0]} {rng.choice(AUTHORS)[1].split()[0]}"
        queries.append((kinds[kind], {0: PoolQuery(text=word[0]), 1: PoolQuery(text=word[1]), 2: PoolQuery(text=with_author),
                        3: PoolQuery(text=word[0], audience="children", ndc_class=str(rng.randint(0, 9))),
                        4: PoolQuery(price_min=1000, price_max=2000, model="metered-loans"),
                        5: PoolQuery(text=rng.choice(AUTHORS)[0], owned=False, on_list=False)}[kind]))
    timings: list[float] = []
    by_kind: dict[str, list[float]] = {}
    with db.scope(write=False) as read:
        search_pool(read, queries[0][1])
        for kind, query in queries:
            began = time.perf_counter()
            search_pool(read, query)
            timings.append((time.perf_counter() - began) * 1000)
            by_kind.setdefault(kind, []).append(timings[-1])
    print(f"pool search with facets: median {statistics.median(timings):.1f} ms, p95 {p95(timings):.1f} ms (n={len(timings)})")
    for kind, samples in by_kind.items():
        print(f"  {kind}: median {statistics.median(samples):.1f} ms, p95 {p95(samples):.1f} ms (n={len(samples)})")

    with db.scope() as write:
        staff = StaffUser(email="bench@example.jp", password_hash="x", role=Role.librarian)
        write.add(staff)
        write.flush()
        fund = funds.create_fund(write, staff, 2027, "一般書", 3_000_000)
        selection = lists.create_list(write, staff, "大きなリスト")
        offer_ids = list(write.scalars(PoolOffer.__table__.select().with_only_columns(PoolOffer.id).limit(args.lines + 200)))
        for offer_id in offer_ids[:args.lines]:
            lists.add_line(write, staff, selection.id, offer_id, fund_id=fund.id)
        staff_id, list_id, fund_id = staff.id, selection.id, fund.id
    edits = []
    views = []
    for offer_id in offer_ids[args.lines:args.lines + 50]:
        with db.scope() as write:
            staff = write.get(StaffUser, staff_id)
            began = time.perf_counter()
            line, _ = lists.add_line(write, staff, list_id, offer_id, fund_id=fund_id)
            lists.update_line(write, staff, line.id, quantity=2)
            edits.append((time.perf_counter() - began) * 1000)
        with db.scope(write=False) as read:
            staff = read.get(StaffUser, staff_id)
            began = time.perf_counter()
            lists.list_view(read, staff, list_id, "floor")
            views.append((time.perf_counter() - began) * 1000)
    print(f"list edit (add a line + change its quantity): median {statistics.median(edits):.1f} ms, p95 {p95(edits):.1f} ms")
    print(f"whole {args.lines}-line list with totals and warnings: median {statistics.median(views):.1f} ms, p95 {p95(views):.1f} ms")
    db.dispose()


if __name__ == "__main__":
    main()
