"""``make docs``: each Japanese manual of docs/ja as PDF, in a 詳細版 (everything) and a 簡易版 (the essentials).

Markdown → HTML with pandoc (GitHub-flavoured Markdown, tables), → PDF with WeasyPrint, in a Japanese font
(Noto Sans CJK JP, else IPAex Gothic). The 簡易版 leaves out what authors marked as detail::

    <!-- 詳細版のみ -->
    ... commands, settings tables, background ...
    <!-- /詳細版のみ -->

Everything else is in both. Output: ``docs/ja/build/<manual>_詳細版.pdf`` and ``..._簡易版.pdf`` (gitignored).
Usage: ``python docs/tools/build_manuals.py [SOURCE_DIR [OUT_DIR]] [--only NAME]``.
"""
from __future__ import annotations

import argparse
import datetime
import html
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "ja"
DETAIL_BLOCK = re.compile(r"<!--\s*詳細版のみ\s*-->.*?<!--\s*/詳細版のみ\s*-->\n?", re.S)
MARKER = re.compile(r"<!--\s*/?詳細版のみ\s*-->\n?")
EDITIONS = {"詳細版": False, "簡易版": True}
SKIPPED = {"README.md"}
NOTES = {"詳細版": "", "簡易版": "<p><small>簡易版は要点だけをまとめたものです。コマンドや設定の詳しい説明は詳細版をご覧ください。</small></p>"}

CSS = """
@page { size: A4; margin: 22mm 18mm 20mm 18mm;
        @top-left { content: "%(title)s（%(edition)s）"; font-size: 8.5pt; color: #555; }
        @top-right { content: "%(date)s"; font-size: 8.5pt; color: #555; }
        @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; } }
html { font-family: "Noto Sans CJK JP", "IPAexGothic", "IPAGothic", sans-serif; font-size: 10.5pt; line-height: 1.7; color: #111; }
h1 { font-size: 20pt; border-bottom: 2px solid #1a4d80; padding-bottom: 4pt; margin-top: 0; }
h2 { font-size: 14pt; color: #1a4d80; border-left: 5pt solid #1a4d80; padding-left: 6pt; margin-top: 18pt; break-after: avoid; }
h3 { font-size: 12pt; margin-top: 12pt; break-after: avoid; }
p, li { orphans: 2; widows: 2; }
table { border-collapse: collapse; width: 100%%; margin: 6pt 0; font-size: 9.5pt; break-inside: auto; }
th, td { border: 0.6pt solid #888; padding: 3pt 5pt; vertical-align: top; }
th { background: #e8eef5; }
th:first-child, td:first-child { min-width: 5em; }
tr { break-inside: avoid; }
code { font-family: "Noto Sans Mono CJK JP", "IPAexGothic", monospace; font-size: 9pt; background: #f3f3f3; padding: 0 2pt; }
pre { background: #f3f3f3; padding: 6pt; white-space: pre-wrap; word-break: break-all; font-size: 8.5pt; break-inside: avoid; }
pre code { background: none; padding: 0; }
blockquote { margin: 6pt 0; padding: 4pt 10pt; border-left: 3pt solid #bbb; color: #333; background: #fafafa; }
a { color: inherit; text-decoration: none; }
.edition { display: inline-block; border: 1pt solid #1a4d80; color: #1a4d80; padding: 0 6pt; font-size: 10pt; margin-bottom: 8pt; }
"""


def edition_text(markdown: str, brief: bool) -> str:
    """The Markdown of one edition: the 簡易版 without the marked blocks, the 詳細版 without the markers."""
    return DETAIL_BLOCK.sub("", markdown) if brief else MARKER.sub("", markdown)


def to_html(markdown: str, title: str, edition: str, date: str) -> str:
    """A whole HTML page for WeasyPrint (pandoc does the Markdown)."""
    body = subprocess.run(["pandoc", "-f", "gfm", "-t", "html5"], input=markdown.encode(), capture_output=True, check=True, timeout=120).stdout.decode()
    style = CSS % {"title": title.replace('"', ""), "edition": edition, "date": date}
    return (f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{html.escape(title)}（{edition}）</title>'
            f"<style>{style}</style></head><body><p class=\"edition\">{edition}</p>{NOTES[edition]}{body}</body></html>")


def build(source: Path, out: Path, only: str | None = None) -> list[Path]:
    """Build both editions of every manual in ``source`` (or of ``only``) into ``out``; returns the PDFs."""
    from weasyprint import HTML

    out.mkdir(parents=True, exist_ok=True)
    date = datetime.date.today().isoformat()
    made = []
    for page in sorted(source.glob("*.md")):
        if page.name in SKIPPED or (only and page.stem != only):
            continue
        markdown = page.read_text(encoding="utf-8")
        title = next((line[2:].strip() for line in markdown.splitlines() if line.startswith("# ")), page.stem)
        for edition, brief in EDITIONS.items():
            target = out / f"{page.stem}_{edition}.pdf"
            HTML(string=to_html(edition_text(markdown, brief), title, edition, date), base_url=str(source)).write_pdf(target)
            made.append(target)
            print(f"{target} ({target.stat().st_size // 1024} KiB)")
    return made


def main(argv: list[str] | None = None) -> int:
    """The command line of ``make docs``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(DOCS))
    parser.add_argument("out", nargs="?", default=str(DOCS / "build"))
    parser.add_argument("--only", help="one manual (file name without .md)")
    args = parser.parse_args(argv)
    if not build(Path(args.source), Path(args.out), args.only):
        print("no manual built", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
