"""Search benchmark: build synthetic Japanese/English catalogs and time queries (run separately, not a test).

    .venv/bin/python bench/search.py --sizes 10000 100000 --out /tmp/elibrary-bench

For each size: index build time and size on disk, then, in a fresh serving process, latency of single-term,
two-term, reading, one-character, English and faceted queries (top 20 + capped count; facets only in the
faceted category), the first query after another process committed a change, and the serving process's RSS.
Each query is timed in 3 passes after a warm-up pass; the per-query median is used. A cold pass (the first
queries on a freshly opened index, before any posting list is cached) is reported separately.
"""
from __future__ import annotations

import argparse
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

# Head-heavy vocabulary: earlier entries are drawn far more often (Zipf-like weights), as in real catalogs.
WORDS = [
    ("図書", "トショ"), ("日本", "ニホン"), ("歴史", "レキシ"), ("物語", "モノガタリ"), ("入門", "ニュウモン"),
    ("研究", "ケンキュウ"), ("世界", "セカイ"), ("科学", "カガク"), ("社会", "シャカイ"), ("文化", "ブンカ"),
    ("子ども", "コドモ"), ("小説", "ショウセツ"), ("時代", "ジダイ"), ("生活", "セイカツ"), ("教育", "キョウイク"),
    ("経済", "ケイザイ"), ("自然", "シゼン"), ("地域", "チイキ"), ("技術", "ギジュツ"), ("音楽", "オンガク"),
    ("料理", "リョウリ"), ("宇宙", "ウチュウ"), ("動物", "ドウブツ"), ("植物", "ショクブツ"), ("数学", "スウガク"),
    ("哲学", "テツガク"), ("心理", "シンリ"), ("健康", "ケンコウ"), ("旅行", "リョコウ"), ("写真", "シャシン"),
    ("建築", "ケンチク"), ("美術", "ビジュツ"), ("昆虫", "コンチュウ"), ("恐竜", "キョウリュウ"), ("鉄道", "テツドウ"),
    ("戦争", "センソウ"), ("平和", "ヘイワ"), ("環境", "カンキョウ"), ("情報", "ジョウホウ"), ("言語", "ゲンゴ"),
    ("図鑑", "ズカン"), ("絵本", "エホン"), ("童話", "ドウワ"), ("詩集", "シシュウ"), ("短編", "タンペン"),
    ("推理", "スイリ"), ("冒険", "ボウケン"), ("魔法", "マホウ"), ("学校", "ガッコウ"), ("友だち", "トモダチ"),
    ("コンピュータ", "コンピュータ"), ("プログラミング", "プログラミング"), ("デザイン", "デザイン"),
    ("ネットワーク", "ネットワーク"), ("データ", "データ"), ("ロボット", "ロボット"), ("サッカー", "サッカー"),
    ("猫", "ネコ"), ("犬", "イヌ"), ("海", "ウミ"), ("山", "ヤマ"), ("川", "カワ"), ("空", "ソラ"), ("花", "ハナ"),
    ("京都", "キョウト"), ("東京", "トウキョウ"), ("大阪", "オオサカ"), ("北海道", "ホッカイドウ"), ("沖縄", "オキナワ"),
    ("江戸", "エド"), ("明治", "メイジ"), ("昭和", "ショウワ"), ("平成", "ヘイセイ"), ("令和", "レイワ"),
    ("民俗学", "ミンゾクガク"), ("天文学", "テンモンガク"), ("考古学", "コウコガク"), ("気象", "キショウ"),
]
ENGLISH = ["python", "history", "science", "library", "japan", "data", "design", "music", "world", "children",
           "story", "guide", "introduction", "nature", "art", "computer", "network", "travel", "food", "energy"]
SURNAMES = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
            ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
            ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("村上", "ムラカミ"), ("夏目", "ナツメ"), ("宮沢", "ミヤザワ"),
            ("芥川", "アクタガワ"), ("太宰", "ダザイ"), ("森", "モリ"), ("齋藤", "サイトウ"), ("髙橋", "タカハシ")]
GIVEN = [("誠", "マコト"), ("浩", "ヒロシ"), ("花子", "ハナコ"), ("太郎", "タロウ"), ("春樹", "ハルキ"),
         ("漱石", "ソウセキ"), ("賢治", "ケンジ"), ("陽子", "ヨウコ"), ("健一", "ケンイチ"), ("美咲", "ミサキ"),
         ("翔太", "ショウタ"), ("由美", "ユミ"), ("龍之介", "リュウノスケ"), ("治", "オサム"), ("さくら", "サクラ")]
PUBLISHERS = ["岩波書店", "新潮社", "講談社", "集英社", "福音館書店", "偕成社", "ポプラ社", "Springer", "O'Reilly"]
AUDIENCES = ["general"] * 6 + ["children"] * 3 + ["ya"]
FORMATS = ["epub-reflowable"] * 7 + ["epub-fixed"] * 2 + ["pdf"]


def _zipf(rng: random.Random, items: list, s: float = 1.1):
    weights = [1 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights=weights)[0]


def _isbn(rng: random.Random) -> str:
    core = "9784" + "".join(str(rng.randrange(10)) for _ in range(8))
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core)) % 10) % 10
    return core + str(check)


def catalog(n: int, seed: int = SEED):
    """``n`` synthetic titles, deterministic for a seed."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        english = rng.random() < 0.15
        if english:
            words = [rng.choice(ENGLISH).capitalize() for _ in range(rng.randint(2, 4))]
            title, reading = " ".join(words), ""
        else:
            picks = [_zipf(rng, WORDS) for _ in range(rng.randint(1, 3))]
            title = "の".join(w for w, _ in picks)
            reading = " ".join(r for _, r in picks)
        people = []
        for _ in range(rng.randint(1, 2)):
            (sn, sr), (gn, gr) = _zipf(rng, SURNAMES, 0.8), rng.choice(GIVEN)
            people.append((sn + gn, f"{sr} {gr}"))
        desc_words = [_zipf(rng, WORDS)[0] for _ in range(rng.randint(8, 20))] + rng.sample(ENGLISH, 2)
        yield SearchDocument(
            id=i,
            title=title,
            title_reading=reading,
            subtitle=rng.choice(["", "", "", "上巻", "新装版", "はじめての" + _zipf(rng, WORDS)[0]]),
            series=rng.choice(["", "", "", "岩波新書", "こども図鑑", "シリーズ日本の歴史"]),
            contributors=tuple(p for p, _ in people),
            contributor_readings=tuple(r for _, r in people),
            publisher=rng.choice(PUBLISHERS),
            subjects=tuple(_zipf(rng, WORDS)[0] for _ in range(rng.randint(1, 3))),
            description="。".join(desc_words) + "。図書館のための" + rng.choice(WORDS)[0] + "の本です。",
            isbn=_isbn(rng),
            ndc=f"{rng.randrange(10)}{rng.randrange(10)}{rng.randrange(10)}",
            audience=rng.choice(AUDIENCES),
            format=rng.choice(FORMATS),
            language="en" if english else "ja",
            published=date(1950, 1, 1) + timedelta(days=rng.randrange(27000)),
            available=rng.random() < 0.7,
        )


def queries(seed: int = SEED) -> dict[str, list[SearchQuery]]:
    """The query mix, 20-40 per category."""
    rng = random.Random(seed + 1)
    two_char = [w for w, _ in WORDS if len(w) == 2]
    single = [SearchQuery(text=w, with_facets=False) for w in two_char[:30]]
    two = [SearchQuery(text=f"{rng.choice(two_char)} {rng.choice(two_char)}", with_facets=False) for _ in range(30)]
    names = [SearchQuery(text=s + g, with_facets=False) for (s, _), (g, _) in zip(SURNAMES, GIVEN * 2)]
    reading = [SearchQuery(text=r.replace(" ", ""), with_facets=False) for _, r in rng.sample(WORDS, 15)]
    reading += [SearchQuery(text=sr, with_facets=False) for _, sr in SURNAMES[:10]]
    reading += [SearchQuery(text="なつめそうせき", with_facets=False), SearchQuery(text="ﾑﾗｶﾐ", with_facets=False)]
    one = [SearchQuery(text=c, with_facets=False) for c in "猫犬海山川空花森誠浩本学"]
    english = [SearchQuery(text=w, with_facets=False) for w in ENGLISH]
    faceted = [
        SearchQuery(text=rng.choice(two_char), filters={"audience": rng.choice(["children", "general", "ya"])})
        for _ in range(20)
    ] + [SearchQuery(text="", filters={"format": "epub-fixed"}), SearchQuery(text="図書")]
    sorted_ = [SearchQuery(text=rng.choice(two_char), sort=rng.choice(["newest", "reading"]), with_facets=False) for _ in range(10)]
    return {"single-term": single, "two-term": two, "author-name": names, "reading": reading, "one-char": one,
            "english": english, "faceted": faceted, "sorted": sorted_}


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def serve(path: str, n: int) -> dict:
    """Open the index as a fresh serving process would and time the query mix."""
    import psutil

    from elibrary.search.whoosh_backend import WhooshSearch

    start = time.perf_counter()
    search = WhooshSearch(path)
    search.search(SearchQuery(text="", with_facets=False))
    opened = time.perf_counter() - start
    mix = queries()
    report: dict = {"open_s": round(opened, 3), "categories": {}}
    cold_all: list[float] = []
    for passes in range(4):
        for name, qs in mix.items():
            cat = report["categories"].setdefault(name, {"times": [[] for _ in qs], "hits": []})
            for i, q in enumerate(qs):
                t0 = time.perf_counter()
                result = search.search(q)
                elapsed = (time.perf_counter() - t0) * 1000
                if passes == 0:
                    cold_all.append(elapsed)
                    cat["hits"].append(result.total)
                else:
                    cat["times"][i].append(elapsed)
    everything = []
    for cat in report["categories"].values():
        medians = [statistics.median(t) for t in cat.pop("times")]
        everything += medians
        hits = cat.pop("hits")
        cat.update(p50=round(_pct(medians, 50), 1), p95=round(_pct(medians, 95), 1), max=round(max(medians), 1),
                   median_hits=int(statistics.median(hits)))
    report["all"] = {"p50": round(_pct(everything, 50), 1), "p95": round(_pct(everything, 95), 1), "max": round(max(everything), 1)}
    report["cold_pass"] = {"p50": round(_pct(cold_all, 50), 1), "p95": round(_pct(cold_all, 95), 1), "max": round(max(cold_all), 1)}
    report["rss_mb"] = round(psutil.Process().memory_info().rss / 2**20, 1)
    # Another process commits a change; the next search here must see it (reader reopened, caches rebuilt).
    changed = SearchDocument(id=n + 1, title="ベンチマーク追加書誌", title_reading="ベンチマーク")
    subprocess.run([sys.executable, __file__, "--upsert-one", path, str(n + 1)], check=True)
    t0 = time.perf_counter()
    seen = search.search(SearchQuery(text="ベンチマーク追加", with_facets=False)).ids == [changed.id]
    after = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    search.search(SearchQuery(text="図書", sort="newest"))
    again = (time.perf_counter() - t0) * 1000
    report["after_commit"] = {"visible": seen, "first_query_ms": round(after, 1), "first_sorted_faceted_ms": round(again, 1)}
    report["rss_mb_end"] = round(psutil.Process().memory_info().rss / 2**20, 1)
    return report


def build(path: Path, n: int) -> dict:
    """Build an index of ``n`` titles from scratch."""
    from elibrary.search.whoosh_backend import WhooshSearch

    if path.exists():
        shutil.rmtree(path)
    search = WhooshSearch(path)
    start = time.perf_counter()
    count = search.rebuild(catalog(n), progress=lambda d: d % 10000 == 0 and print(f"  {d} indexed", flush=True))
    seconds = time.perf_counter() - start
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    search.close()
    return {"titles": count, "build_s": round(seconds, 1), "docs_per_s": round(count / seconds), "size_mb": round(size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--out", default="/tmp/elibrary-bench")
    parser.add_argument("--serve", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--upsert-one", nargs=2, metavar=("PATH", "ID"), help=argparse.SUPPRESS)
    parser.add_argument("--skip-build", action="store_true", help="reuse indexes already built in --out")
    args = parser.parse_args()
    if args.upsert_one:
        from elibrary.search.whoosh_backend import WhooshSearch

        WhooshSearch(args.upsert_one[0]).upsert([SearchDocument(id=int(args.upsert_one[1]), title="ベンチマーク追加書誌")])
        return
    if args.serve:
        print(json.dumps(serve(args.serve[0], int(args.serve[1]))))
        return
    for n in args.sizes:
        path = Path(args.out) / f"index-{n}"
        print(f"== {n} titles", flush=True)
        if not args.skip_build:
            print("build:", json.dumps(build(path, n)), flush=True)
        out = subprocess.run([sys.executable, __file__, "--serve", str(path), str(n)], check=True, capture_output=True, text=True)
        print("serve:", json.dumps(json.loads(out.stdout), indent=1, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
