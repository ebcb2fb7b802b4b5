"""Benchmark: import a generated ONIX 3.0 file of N products into an empty instance, then again.

    .venv/bin/python bench/import_onix.py [--records 100000] [--keep DIR]

Each import runs ``elibrary import onix FILE`` in a child process (SQLite, the Whoosh index, as an
operator would), timed from start to exit (parsing, writing, search indexing). A large file is parsed
in a process of its own (``catalog_import.ahead``) and the index may use helper processes, so memory is
the peak of the *sum* over the command and its descendants of their PSS (shared pages split, not counted
twice), sampled every 50 ms from /proc; CPU is theirs together (``wait4``).
Targets on a 2-core machine: first import ≤ 120 s and ≤ 300 MB, re-import (all unchanged) ≤ 60 s.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

NS = "http://ns.editeur.org/onix/3.0/reference"
FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
FAMILY_KANA = ["サトウ", "スズキ", "タカハシ", "タナカ", "イトウ", "ワタナベ", "ヤマモト", "ナカムラ", "コバヤシ", "カトウ"]
GIVEN = ["花子", "太郎", "一郎", "美咲", "翔太", "さくら", "健", "陽菜", "大輔", "結衣"]
GIVEN_KANA = ["ハナコ", "タロウ", "イチロウ", "ミサキ", "ショウタ", "サクラ", "ケン", "ヒナ", "ダイスケ", "ユイ"]
WORDS = [("星", "ホシ"), ("海", "ウミ"), ("森", "モリ"), ("旅", "タビ"), ("夢", "ユメ"), ("猫", "ネコ"), ("春", "ハル"), ("図書館", "トショカン")]


def isbn13(n: int) -> str:
    """A valid ISBN-13 in the Japanese group, from a counter."""
    first12 = f"9784{n:08d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def product(n: int, rng: random.Random) -> str:
    """One ONIX product: identifiers, title with reading, two contributors, subjects, text, dates, price."""
    a, b = rng.randrange(len(WORDS)), rng.randrange(len(WORDS))
    title, reading = f"{WORDS[a][0]}と{WORDS[b][0]}の物語 第{n}話", f"{WORDS[a][1]} ト {WORDS[b][1]} ノ モノガタリ"
    f1, g1, f2, g2 = (rng.randrange(10) for _ in range(4))
    ccode = rng.choice(["0093", "8793", "0036", "0045"])
    return f"""<Product><RecordReference>bench.{n}</RecordReference><NotificationType>03</NotificationType>
<ProductIdentifier><ProductIDType>15</ProductIDType><IDValue>{isbn13(n)}</IDValue></ProductIdentifier>
<DescriptiveDetail><ProductComposition>00</ProductComposition><ProductForm>ED</ProductForm><ProductFormDetail>E101</ProductFormDetail>
<TitleDetail><TitleType>01</TitleType><TitleElement><TitleElementLevel>01</TitleElementLevel><TitleText collationkey="{reading}">{escape(title)}</TitleText></TitleElement></TitleDetail>
<Contributor><SequenceNumber>1</SequenceNumber><ContributorRole>A01</ContributorRole><PersonName collationkey="{FAMILY_KANA[f1]} {GIVEN_KANA[g1]}">{FAMILY[f1]} {GIVEN[g1]}</PersonName></Contributor>
<Contributor><SequenceNumber>2</SequenceNumber><ContributorRole>A12</ContributorRole><PersonName collationkey="{FAMILY_KANA[f2]} {GIVEN_KANA[g2]}">{FAMILY[f2]} {GIVEN[g2]}</PersonName></Contributor>
<Language><LanguageRole>01</LanguageRole><LanguageCode>jpn</LanguageCode></Language>
<Extent><ExtentType>00</ExtentType><ExtentValue>{100 + n % 300}</ExtentValue><ExtentUnit>03</ExtentUnit></Extent>
<Subject><SubjectSchemeIdentifier>78</SubjectSchemeIdentifier><SubjectCode>{ccode}</SubjectCode></Subject>
<Subject><SubjectSchemeIdentifier>20</SubjectSchemeIdentifier><SubjectHeadingText>{WORDS[a][0]};{WORDS[b][0]}</SubjectHeadingText></Subject>
</DescriptiveDetail>
<CollateralDetail><TextContent><TextType>03</TextType><ContentAudience>00</ContentAudience><Text textformat="05"><p>{escape(title)}は、{WORDS[a][0]}と{WORDS[b][0]}をめぐる物語です。</p></Text></TextContent>
<SupportingResource><ResourceContentType>01</ResourceContentType><ContentAudience>00</ContentAudience><ResourceMode>03</ResourceMode><ResourceVersion><ResourceForm>02</ResourceForm><ResourceLink>https://covers.example.jp/{isbn13(n)}.jpg</ResourceLink></ResourceVersion></SupportingResource></CollateralDetail>
<PublishingDetail><Publisher><PublishingRole>01</PublishingRole><PublisherName>ベンチ出版</PublisherName></Publisher><PublishingStatus>04</PublishingStatus>
<PublishingDate><PublishingDateRole>01</PublishingDateRole><Date dateformat="00">2024{1 + n % 12:02d}{1 + n % 28:02d}</Date></PublishingDate></PublishingDetail>
<ProductSupply><SupplyDetail><Supplier><SupplierRole>01</SupplierRole><SupplierName>ベンチ出版</SupplierName></Supplier><ProductAvailability>20</ProductAvailability>
<Price><PriceType>02</PriceType><PriceAmount>{500 + n % 1500}</PriceAmount><CurrencyCode>JPY</CurrencyCode></Price></SupplyDetail></ProductSupply></Product>
"""


def generate(path: Path, records: int) -> None:
    """Write an ONIX 3.0 message of ``records`` products (streamed, never held whole)."""
    rng = random.Random(6)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<ONIXMessage release="3.0" xmlns="{NS}">\n')
        out.write("<Header><Sender><SenderName>bench</SenderName></Sender><SentDateTime>20260101</SentDateTime></Header>\n")
        for n in range(1, records + 1):
            out.write(product(n, rng))
        out.write("</ONIXMessage>\n")


def tree_memory_kb(pid: int) -> int:
    """The memory of ``pid`` and all its descendants in kB: the sum of their PSS (proportional set size).

    PSS splits each shared page among the processes that map it, so a forked helper's inherited pages
    are counted once, not once per process as a sum of RSS would. RSS where PSS is not available.
    """
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += _pss_kb(current)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
    except (OSError, StopIteration):
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)


def run(command: list[str], env: dict) -> tuple[float, float, int, str]:
    """Run ``command``; returns wall seconds, CPU seconds (user + system, with its children), peak memory in MB, output.

    Peak memory is the largest sampled PSS sum of the process tree, or the largest single RSS (``wait4``) if that
    is larger (a peak shorter than the sampling interval).
    """
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak, peak_at, done = [0], [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            memory = tree_memory_kb(child.pid)
            if memory > peak[0]:
                peak[0], peak_at[0] = memory, time.perf_counter() - start

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}): {output}")
    rss_mb = max(peak[0] // 1024, usage.ru_maxrss // 1024)
    return seconds, usage.ru_utime + usage.ru_stime, rss_mb, f"peak at {peak_at[0]:.1f} s / " + output.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--keep", help="Work in this folder and keep it (default: a temporary folder, removed).")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="elibrary-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        onix = work / "bench.xml"
        started = time.perf_counter()
        generate(onix, args.records)
        print(f"generated {args.records} products ({onix.stat().st_size // (1024 * 1024)} MB) in {time.perf_counter() - started:.1f} s", flush=True)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        env = {**os.environ, "ELIBRARY_INSTANCE_PATH": str(work / "instance"), "ELIBRARY_SEARCH": "whoosh"}
        env.pop("ELIBRARY_DATABASE_URL", None)
        script = str(Path(sys.executable).parent / "elibrary")
        run([script, "init"], env)
        for label, limit_s in (("first import", 120), ("re-import", 60)):
            seconds, cpu, rss, output = run([script, "import", "onix", str(onix)], env)
            verdict = "ok" if seconds <= limit_s and rss <= 300 else "OVER TARGET"
            print(f"{label}: {seconds:.1f} s wall, {cpu:.1f} s CPU, peak memory {rss} MB ({verdict}; target ≤ {limit_s} s, ≤ 300 MB)"
                  f" — {' / '.join(line for line in output.splitlines() if line.startswith(('peak at', 'added', 'time')))}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
