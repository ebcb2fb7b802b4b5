"""The Japanese manuals of ``docs/ja`` served as pages, so a city without internet access to the repository reads them too.

The folder is found beside the package (a source checkout, ``make run``) or at ``ELIBRARY_DOCS_PATH``.
Markdown is rendered with raw HTML switched off, so a manual cannot inject markup into the site.
"""
from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt

DEFAULT_DOCS = Path(__file__).resolve().parents[2] / "docs" / "ja"


def folder(configured: str | None) -> Path:
    """Where the manuals are."""
    return Path(configured) if configured else DEFAULT_DOCS


def listing(base: Path) -> list[str]:
    """The manuals' names (file names without ``.md``), README first."""
    if not base.is_dir():
        return []
    names = sorted(p.stem for p in base.glob("*.md") if p.is_file())
    return sorted(names, key=lambda n: (n != "README", n))


def render(base: Path, name: str) -> tuple[str, str] | None:
    """The manual ``name`` as (title, HTML), or None when there is no such manual (names are looked up, never joined)."""
    if name not in listing(base):
        return None
    text = (base / f"{name}.md").read_text(encoding="utf-8")
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), name)
    html = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").render(text)
    return title, html
