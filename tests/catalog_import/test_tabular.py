"""CSV/TSV as staff make them: encodings, Japanese and English headers, several authors, formula cells."""
from __future__ import annotations

import codecs
import io

from catalog_import.records import ImportRecord, Problem
from catalog_import.report import ReportWriter, safe_cell
from catalog_import.tabular import detect_encoding, parse_tabular
from elibrary.catalog.credits import ContributorCredit, SubjectEntry

JAPANESE = (
    "ISBN,書名,タイトルヨミ,著者,著者ヨミ,訳者,出版社,出版日,NDC,件名,対象,内容紹介,巻次,シリーズ名\r\n"
    "978-4-09-000001-0,星と海の物語,ほしとうみのものがたり,佐藤 太郎;鈴木 花子（絵）,サトウ タロウ;スズキ ハナコ,Jane Smith,みどり出版,2024/4/1,913.6,冒険;海,児童,"
    "\"<p>夏の物語。</p><script>alert(1)</script>\",3,森のなかま\r\n"
)


def parse(data: bytes, name: str = "books.csv") -> list:
    return list(parse_tabular(io.BytesIO(data), name=name))


def test_japanese_headers_in_utf8_with_bom():
    (record,) = parse(codecs.BOM_UTF8 + JAPANESE.encode("utf-8"))
    assert isinstance(record, ImportRecord) and record.position == "line 2"
    assert (record.isbn, record.title, record.title_reading) == ("978-4-09-000001-0", "星と海の物語", "ほしとうみのものがたり")
    assert record.contributors == [
        ContributorCredit("佐藤 太郎", "サトウ タロウ", "aut"),
        ContributorCredit("鈴木 花子", "スズキ ハナコ", "ill"),  # role written after the name
        ContributorCredit("Jane Smith", "", "trl"),
    ]
    assert (record.publisher, record.published_on, record.ndc, record.audience) == ("みどり出版", "2024/4/1", "913.6", "children")
    assert record.subjects == [SubjectEntry("冒険"), SubjectEntry("海")]
    assert record.description == "夏の物語。"
    assert (record.volume, record.series_title) == ("3", "森のなかま")


def test_cp932_is_detected_and_read_the_same():
    utf8 = parse(JAPANESE.encode("utf-8"))
    sjis = parse(JAPANESE.encode("cp932"))
    assert detect_encoding(JAPANESE.encode("cp932")) == "cp932"
    assert sjis[0].fingerprint() == utf8[0].fingerprint()


def test_english_headers_and_tsv():
    data = "Title\tAuthors\tPublisher\tisbn\tID\nThe Cat\tNatsume Soseki\tIwanami\t\tX-1\n\t\t\t\t\n".encode()
    (record,) = parse(data, "list.tsv")
    assert (record.title, record.publisher, record.source_record_id, record.isbn) == ("The Cat", "Iwanami", "X-1", None)
    assert record.contributors == [ContributorCredit("Natsume Soseki", "", "aut")]


def test_formula_cells_reject_their_row_and_nothing_is_evaluated():
    data = ("タイトル,著者\n=cmd|' /C calc'!A0,誰か\n安全な本,+SUM(A1:A3)\n-ゼロからの本-,@作者\n普通の本,山田\n").encode()
    items = parse(data)
    assert [type(i) for i in items] == [Problem, Problem, ImportRecord, ImportRecord]
    assert items[0].field == "title" and "formula" in items[0].reason_en and items[0].position == "line 2"
    assert items[1].field == "authors"
    assert items[2].title == "-ゼロからの本-" and items[2].contributors == [ContributorCredit("@作者", "", "aut")]


def test_a_row_in_another_encoding_is_rejected_with_what_to_do():
    data = "タイトル,著者\n".encode() + "正しい行,山田\n".encode() + "壊れた行,鈴木\n".encode("cp932") + "次の行,田中\n".encode()
    items = parse(data)
    assert [type(i) for i in items] == [ImportRecord, Problem, ImportRecord]
    assert "UTF-8" in items[1].reason_en and items[1].position == "line 3"


def test_missing_title_column_or_empty_title():
    (fatal,) = parse("著者,出版社\n山田,みどり\n".encode())
    assert fatal.fatal and "title column" in fatal.reason_en
    (problem,) = parse("タイトル,著者\n,山田\n".encode())
    assert problem.field == "title" and not problem.fatal
    assert parse(b"") == [Problem("line 1", "ファイルが空です。", "The file is empty.", fatal=True)]


def test_unclosed_quote_stops_with_a_reason():
    data = ("タイトル,著者\n本,山田\n\"閉じない" + "x" * 200_000 + "\n").encode()
    items = parse(data)
    assert isinstance(items[0], ImportRecord) and isinstance(items[-1], Problem) and items[-1].fatal


def test_report_cells_are_neutralised():
    assert safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert [safe_cell(v) for v in ("+1", "-1", "@x", "\tx", "普通")] == ["'+1", "'-1", "'@x", "'\tx", "普通"]
    out = io.StringIO()
    ReportWriter(out).write(Problem("line 2", "理由", "reason", title="=HYPERLINK(\"http://evil\")"))
    assert "'=HYPERLINK" in out.getvalue()
