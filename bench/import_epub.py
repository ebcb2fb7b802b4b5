"""Benchmark: import a folder of N EPUBs with covers, and how long other writes wait meanwhile.

    .venv/bin/python bench/import_epub.py [--books 500] [--cover-pixels 1200x1800] [--runs 1] [--keep DIR]

Makes N EPUBs from the IDPF sample 草枕 (``tests/files/external/epub3-samples``; each with its own identifier
and title, and a JPEG cover of the given size, noise so that it compresses like a photograph: about 1.5 MB a
book at the default), then runs ``elibrary import epub FOLDER`` (the command's code, in process, on a new
SQLite instance with the Whoosh index) while another thread writes one row every 20 ms, as sign-ins and loans
would. Prints the import's time and books/s, and the longest of those other writes: on SQLite, how long the
import held the database's one write lock at a stretch (the busy timeout is 30 s; a write waiting longer
fails). No target of its own; the longest other write should stay well under a second.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lock_wait import OtherWrites  # noqa: E402  (bench/, this script's folder)

SAMPLE = ROOT / "tests" / "files" / "external" / "epub3-samples" / "kusamakura-japanese-vertical-writing"
SAMPLE_ID = "http://www.aozora.gr.jp/cards/000148/card776.html"
COVER_ITEM = 'href="images/夏目漱石.jpg" media-type="image/jpeg"'
COVERS = 8  # distinct cover images, reused round the books (each is still decoded and stored per title)


def make_books(folder: Path, books: int, cover_size: tuple[int, int]) -> float:
    """Write the EPUBs; returns their mean size in MB."""
    from PIL import Image

    opf = (SAMPLE / "OPS" / "package.opf").read_text(encoding="utf-8")
    assert SAMPLE_ID in opf and COVER_ITEM in opf, "the sample's package document changed"
    opf = opf.replace(COVER_ITEM, COVER_ITEM + ' properties="cover-image"')
    covers = []
    for n in range(COVERS):
        data = io.BytesIO()
        Image.effect_noise(cover_size, 30 + 5 * n).convert("RGB").save(data, "JPEG", quality=85)
        covers.append(data.getvalue())
    entries = [(str(f.relative_to(SAMPLE)), f.read_bytes()) for f in sorted(SAMPLE.rglob("*")) if f.is_file() and f.name != "mimetype"]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(books):
        with zipfile.ZipFile(folder / f"book{n:05d}.epub", "w") as archive:
            archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
            for name, data in entries:
                if name == "OPS/package.opf":
                    text = opf.replace(SAMPLE_ID, f"urn:uuid:bench-{n:08d}").replace(">草枕<", f">草枕 その{n}<")
                    archive.writestr(name, text, compress_type=zipfile.ZIP_DEFLATED)
                elif name.endswith("夏目漱石.jpg"):
                    archive.writestr(name, covers[n % COVERS], compress_type=zipfile.ZIP_STORED)
                else:
                    archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return statistics.mean(p.stat().st_size for p in folder.iterdir()) / 1e6


def one_run(folder: Path, books: int) -> tuple[float, float, int]:
    """Import the folder into a new instance; returns (seconds, longest other write, other writes)."""
    from elibrary import create_app
    from elibrary.migrate import upgrade_database

    with tempfile.TemporaryDirectory(prefix="elibrary-bench-epub-") as instance:
        app = create_app({"ELIBRARY_INSTANCE_PATH": instance, "ELIBRARY_SEARCH": "whoosh"})
        rt = app.extensions["elibrary"]
        upgrade_database(rt.db.engine)
        runner = app.test_cli_runner()
        with OtherWrites(rt) as writes:
            began = time.perf_counter()
            result = runner.invoke(args=["import", "epub", str(folder)])
            seconds = time.perf_counter() - began
        rt.db.dispose()
    if result.exit_code != 0 or f"added {books}," not in result.output:
        raise SystemExit(f"the import failed:\n{result.output}")
    return seconds, writes.longest, len(writes.waits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--books", type=int, default=500)
    parser.add_argument("--cover-pixels", default="1200x1800", help="the covers' size, WIDTHxHEIGHT")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="make the books in this folder (reused if it holds them)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.cover_pixels.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="elibrary-bench-epub-books-") as scratch:
        folder = args.keep or Path(scratch) / "books"
        if not folder.exists() or len(list(folder.glob("*.epub"))) != args.books:
            began = time.perf_counter()
            size = make_books(folder, args.books, (width, height))
            print(f"made {args.books} EPUBs of {size:.2f} MB on average in {time.perf_counter() - began:.0f} s → {folder}", flush=True)
        runs = []
        for n in range(args.runs):
            seconds, longest, count = one_run(folder, args.books)
            runs.append((seconds, longest))
            print(f"run {n + 1}: {seconds:.1f} s ({args.books / seconds:.0f} books/s); other writes: {count}, the longest {longest:.2f} s", flush=True)
    print(f"median: {statistics.median(s for s, _ in runs):.1f} s import, {statistics.median(w for _, w in runs):.2f} s the longest other write")


if __name__ == "__main__":
    main()
