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
    assert "This row is Shift_JIS (cp932) while the file is UTF-8" in items[1].reason_en and items[1].position == "line 3"


def test_missing_title_column_or_empty_title():
    (fatal,) = parse("著者,出版社\n山田,みどり\n".encode())
    assert fatal.fatal and "title column" in fatal.reason_en
    (problem,) = parse("タイトル,著者\n,山田\n".encode())
    assert problem.field == "title" and not problem.fatal
    assert parse(b"") == [Problem("line 1", "ファイルが空です。", "The file is empty.", fatal=True)]


def test_an_oversized_unclosed_cell_rejects_its_row_with_a_reason():
    data = ("タイトル,著者\n本,山田\n\"閉じない" + "x" * 200_000 + "\n最後の本,佐藤\n").encode()
    items = parse(data)
    assert [type(i) for i in items] == [ImportRecord, Problem, ImportRecord]
    assert items[1].position == "line 3" and "quote" in items[1].reason_en and not items[1].fatal
    assert items[2].title == "最後の本"


def test_an_unbalanced_quote_rejects_only_its_row_and_the_rest_is_read():
    # The file: one stray quote used to swallow the rest into a contributor's name ("added 2, rejected 0").
    data = ("タイトル,著者,出版社\n"
            "一の本,山田,みどり\n"
            "二の本,\"佐藤 太郎,みどり\n"
            "三の本,鈴木,あお\n"
            "四の本,田中,\"あか\"\n"
            "五の本,高橋,しろ\n").encode()
    items = parse(data)
    assert [type(i) for i in items] == [ImportRecord, Problem, ImportRecord, ImportRecord, ImportRecord]
    assert items[1].position == "line 3" and "lines 3–5" in items[1].reason_en and "3行目から5行目" in items[1].reason_ja
    assert [i.title for i in items if isinstance(i, ImportRecord)] == ["一の本", "三の本", "四の本", "五の本"]
    assert items[3].publisher == "あか" and all("\n" not in c.name for i in items[2:] for c in i.contributors)


def test_a_quote_left_open_at_the_end_of_the_file_is_reported():
    items = parse("タイトル,著者\n一の本,山田\n\"二の本,佐藤\n三の本,鈴木\n".encode())
    assert [type(i) for i in items] == [ImportRecord, Problem, ImportRecord]
    assert items[1].position == "line 3" and items[2].title == "三の本"


def test_a_real_multiline_description_is_kept_but_not_a_swallowed_row():
    good = parse("タイトル,著者,出版社,内容紹介\n本,山田,みどり,\"一行目\n二行目、続き\"\n次の本,佐藤,あお,短い\n".encode())
    assert [type(i) for i in good] == [ImportRecord, ImportRecord] and good[0].description == "一行目\n二行目、続き"
    swallowed = parse("タイトル,著者,出版社,内容紹介\n本,山田,みどり,\"始まり\n次の本,佐藤,あお,短い\"\n三の本,鈴木,しろ,紹介\n".encode())
    assert [type(i) for i in swallowed] == [Problem, ImportRecord, ImportRecord]
    assert swallowed[0].position == "line 2" and "swallowed" in swallowed[0].reason_en
    too_long = parse(("タイトル,内容紹介\n本,\"" + "行\n" * 60 + "\"\n").encode())
    assert isinstance(too_long[0], Problem) and "50 lines" in too_long[0].reason_en


def test_a_utf8_row_in_a_shift_jis_file_is_not_read_as_nonsense_kanji():
    data = "タイトル,著者\n正しい行,山田\n".encode("cp932") + "混ざった行,鈴木\n".encode() + "次の行,田中\n".encode("cp932")
    items = parse(data)
    assert detect_encoding(data) == "cp932"
    assert [type(i) for i in items] == [ImportRecord, Problem, ImportRecord]
    assert items[1].position == "line 3" and "This row is UTF-8 while the file is Shift_JIS" in items[1].reason_en


def test_shift_jis_gaiji_and_undecodable_bytes_have_their_own_reasons():
    gaiji = "タイトル,著者\n".encode("cp932") + b"\xf0\x40\x82\xcc\x96\x7b,\x8eR\x93c\n" + "次の行,田中\n".encode("cp932")
    items = parse(gaiji)
    assert [type(i) for i in items] == [Problem, ImportRecord] and "gaiji" in items[0].reason_en
    damaged = "タイトル,著者\n正しい行,山田\n".encode() + b"\xff\xfe\xfd,x\n" + "次の行,田中\n".encode()
    items = parse(damaged)
    assert [type(i) for i in items] == [ImportRecord, Problem, ImportRecord]
    assert "not valid UTF-8" in items[1].reason_en and "mixes" not in items[1].reason_en


def test_report_cells_are_neutralised():
    assert safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert [safe_cell(v) for v in ("+1", "-1", "@x", "\tx", "普通")] == ["'+1", "'-1", "'@x", "'\tx", "普通"]
    out = io.StringIO()
    ReportWriter(out).write(Problem("line 2", "理由", "reason", title="=HYPERLINK(\"http://evil\")"))
    assert "'=HYPERLINK" in out.getvalue()
