"""The Japanese manuals of ``docs/ja`` served as pages, so a city without internet access to the repository reads them too.

The folder is found beside the package (a source checkout, ``make run``) or at ``ELIBRARY_DOCS_PATH``.
Markdown is rendered with raw HTML switched off, so a manual cannot inject markup into the site.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote

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


EDITORIAL_COMMENT = re.compile(r"^<!--[^\n]*-->[ \t]*$", re.MULTILINE)


def render(base: Path, name: str) -> tuple[str, str] | None:
    """The manual ``name`` as (title, HTML), or None when there is no such manual (names are looked up, never joined)."""
    if name not in listing(base):
        return None
    text = (base / f"{name}.md").read_text(encoding="utf-8")
    text = EDITORIAL_COMMENT.sub("", text)  # the 詳細版/簡易版 markers of ``make docs`` are for the PDFs, not the page
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), name)
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    tokens = md.parse(text)
    _point_links_at_pages(tokens, set(listing(base)))
    return title, md.renderer.render(tokens, md.options, {})


def _point_links_at_pages(tokens, names: set[str]) -> None:
    """A link to another manual (``学校ID運用マニュアル.md#2``) opens its page here; a link to a file outside the
    manuals (the repository's English docs) would be a dead end on the site, so it becomes plain text."""
    dropped = 0
    for token in tokens:
        if token.children:
            _point_links_at_pages(token.children, names)
        if token.type == "link_close" and dropped:
            dropped -= 1
            _as_text(token)
        if token.type != "link_open":
            continue
        href = str(token.attrGet("href") or "")
        if "://" in href or href.startswith(("mailto:", "#", "/")):
            continue
        path, _, fragment = href.partition("#")
        stem = unquote(path.rsplit("/", 1)[-1]).removesuffix(".md")
        if path.endswith(".md") and "/" not in path and stem in names:
            token.attrSet("href", quote(stem) + (f"#{fragment}" if fragment else ""))
        else:
            dropped += 1
            _as_text(token)


def _as_text(token) -> None:
    token.type, token.tag, token.nesting, token.content, token.attrs = "text", "", 0, "", {}
