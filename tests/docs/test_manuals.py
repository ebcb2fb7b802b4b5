"""``make docs``: the Japanese manuals as PDFs (pandoc → HTML → WeasyPrint), a 詳細版 and a shorter 簡易版."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("build_manuals", ROOT / "docs" / "tools" / "build_manuals.py")
build_manuals = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_manuals)

needs_tools = pytest.mark.skipif(shutil.which("pandoc") is None or importlib.util.find_spec("weasyprint") is None,
                                 reason="pandoc (apt) or weasyprint (pip, the docs/test extra) missing")


def test_the_brief_edition_leaves_out_the_marked_blocks_and_the_markers_never_show():
    text = "# 手引き\n\n要点。\n\n<!-- 詳細版のみ -->\n## 詳しい設定\n\nコマンド。\n<!-- /詳細版のみ -->\n\n## おわりに\n"
    brief, full = build_manuals.edition_text(text, brief=True), build_manuals.edition_text(text, brief=False)
    assert "詳しい設定" not in brief and "要点" in brief and "おわりに" in brief
    assert "詳しい設定" in full and "詳細版のみ" not in full and "詳細版のみ" not in brief


def test_every_manual_is_listed_in_the_index():
    manuals = {p.stem for p in (ROOT / "docs" / "ja").glob("*.md")} - {"README"}
    index = (ROOT / "docs" / "ja" / "README.md").read_text(encoding="utf-8")
    assert manuals and all(f"({name}.md)" in index for name in manuals)


@needs_tools
@pytest.mark.slow
def test_the_admin_manual_builds_in_both_editions_with_japanese_text(tmp_path):
    from pypdf import PdfReader

    made = build_manuals.build(ROOT / "docs" / "ja", tmp_path, only="管理者向けマニュアル")
    assert sorted(p.name for p in made) == ["管理者向けマニュアル_簡易版.pdf", "管理者向けマニュアル_詳細版.pdf"]
    full, brief = (PdfReader(str(tmp_path / f"管理者向けマニュアル_{e}.pdf")) for e in ("詳細版", "簡易版"))
    full_text = "".join(page.extract_text() for page in full.pages)
    brief_text = "".join(page.extract_text() for page in brief.pages)
    assert "管理者向けマニュアル" in full_text and "バックアップ" in full_text  # a font with Japanese text that can be searched and copied
    assert "セキュリティイベント（管理者のみ）" in full_text.replace(" ", "") and "セキュリティイベント（管理者のみ）" not in brief_text.replace(" ", "")
    assert "詳細版のみ" not in full_text and len(brief.pages) <= len(full.pages) and len(brief_text) < len(full_text)
    artifacts = ROOT / "test-artifacts"  # the first page, for a person to look at
    artifacts.mkdir(exist_ok=True)
    import pypdfium2

    pypdfium2.PdfDocument(str(tmp_path / "管理者向けマニュアル_詳細版.pdf"))[0].render(scale=1.2).to_pil().save(artifacts / "manual-admin-page1.png")
