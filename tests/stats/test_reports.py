"""Reports: the same figures on screen, in CSV, xlsx and PDF, and by a direct count; small cells hidden."""
import csv
import io
from datetime import date

import pytest
from sqlalchemy import insert

from elibrary.errors import InvalidInput
from elibrary.lending.models import LendingEvent
from elibrary.stats import exports, settings
from elibrary.stats.periods import custom_period, fiscal_period, month_period
from elibrary.stats.reports import ReportRequest, build_report, direct_count


class Staff:
    def __init__(self, role, school_code=None):
        self.role, self.school_code = role, school_code


def _event(day: date, *, kind="borrow", key="k1", age=30, school="", grade="", ndc="913", category="citizen", hour=10, title_id=1):
    return {"occurred_on": day, "kind": kind, "title_id": title_id, "category": category, "age_band": "", "school": school, "loan_hours": None,
            "age": age, "grade": grade, "license_id": None, "license_model": "concurrent", "channel": "web", "borrower_key": key,
            "hour": hour, "weekday": day.weekday(), "from_hold": False, "ndc": ndc, "audience": "general", "format": "epub"}


@pytest.fixture
def events(rt):
    rows = []
    for i in range(12):  # 令和8年度: 12 adults borrowing in April and May, 2 pupils of one school
        rows.append(_event(date(2026, 4, 10), key=f"a{i}", age=20 + i * 4))
        rows.append(_event(date(2026, 5, 10), key=f"a{i}", age=20 + i * 4, ndc="493"))
    rows.append(_event(date(2026, 5, 11), key="p1", age=8, school="K-HIGASHI", grade="3", category="student"))
    rows.append(_event(date(2026, 5, 11), key="p2", age=9, school="K-HIGASHI", grade="3", category="student"))
    rows.append(_event(date(2027, 3, 31), key="a0", age=20, hour=23))  # 31 March 23:30: the old 年度
    rows.append(_event(date(2027, 4, 1), key="a0", age=21, hour=0))
    for i in range(5):  # 令和7年度: a year earlier
        rows.append(_event(date(2025, 4, 20), key=f"b{i}", age=40))
    rows.append(_event(date(2026, 4, 10), kind="hold", key="a1", ndc="0"))
    with rt.db.scope() as session:
        session.execute(insert(LendingEvent.__table__), rows)
    return rows


def test_loans_by_month_and_age_band_agree_with_a_direct_count(rt, events):
    with rt.db.scope() as session:
        report = build_report(session, ReportRequest("loans", "age", fiscal_period(2026)))
        assert report.total.total.value == direct_count(session, ("borrow",), date(2026, 4, 1), date(2027, 3, 31)) == 27
        assert report.total.previous.value == 5
        by_band = {r.label: r.total.text for r in report.rows}
        assert by_band["小学生"] == "<3"  # two pupils: hidden, never 2
        assert by_band["一般"] == "21" and by_band["60歳以上"] == "<3"  # two patrons aged 60 and 64, four loans
        april = report.columns.index("2026年4月")
        assert sum(r.cells[april].value for r in report.rows) == report.total.cells[april].value == 12
        # April's only small cell (60歳以上: two patrons) could be worked out as 12 - 10: the 10 is hidden too
        assert {r.label: r.cells[april].text for r in report.rows} == {"小学生": "0", "一般": "＊", "60歳以上": "<3"}
        by_month = build_report(session, ReportRequest("loans", "month", fiscal_period(2026)))
        assert [r.total.value for r in by_month.rows][:2] == [12, 14]
        assert by_month.rows[-1].total.value == 1  # March: the 23:30 event of 31 March
        assert by_month.rows[0].previous.value == 5  # April 2025 beside April 2026
        borrowers = build_report(session, ReportRequest("borrowers", "none", fiscal_period(2026)))
        assert borrowers.total.total.value == 14


def test_the_exports_carry_the_figures_of_the_page(rt, events):
    import openpyxl

    with rt.db.scope() as session:
        report = build_report(session, ReportRequest("loans", "age", fiscal_period(2026)))
        sheets = exports.year_sheets(session, 2026, ["month", "age", "ndc"])
        text = exports.to_csv(sheets).decode("utf-8-sig")
        assert exports.to_csv(sheets, "cp932").decode("cp932") == text.replace("\ufeff", "")
        book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(sheets)))
        pdf = exports.report_pdf(session, fiscal_period(2026), rt.settings)
    table = list(csv.reader(io.StringIO(text)))
    age_rows = {r[0]: r for r in table if r and r[0] in ("小学生", "一般", "60歳以上")}
    assert age_rows["小学生"][-3] == "<3" and age_rows["一般"][-3] == "21"
    sheet = book[[n for n in book.sheetnames if "年齢" in n][0]]
    values = {row[0]: row for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert values["一般"][-3] == 21 and values["小学生"][-3] == "<3" and values["合計"][-3] == report.total.total.value
    jla = {row[0]: row[1] for row in book["JLA調査_電子書籍"].iter_rows(values_only=True) if row}
    assert jla["電子書籍 年間貸出数（個人貸出）"] == 27
    from pypdf import PdfReader

    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "令和8年度" in pdf_text and "<3" in pdf_text and "27" in pdf_text


def test_a_formula_in_a_cell_is_neutralised():
    sheet = exports.Sheet("x", "=title", ["=HYPERLINK()", "b"], [["=1+1", 3]])
    assert "'=1+1" in exports.to_csv([sheet]).decode("utf-8-sig")


def _refused(call, *args) -> str:
    with pytest.raises(InvalidInput) as refused:
        call(*args)
    return refused.value.message_ja


def test_bad_input_gets_clear_messages(rt):
    assert "より前" in _refused(custom_period, date(2026, 5, 1), date(2026, 4, 1))
    assert "重なっています" in _refused(settings.parse_bands, "未就学 0-6\n小学生 6-11\n一般 12-")
    assert "12歳から14歳" in _refused(settings.parse_bands, "未就学 0-5\n小学生 6-11\n一般 15-")
    assert "上限なし" in _refused(settings.parse_bands, "子ども 0-17\n大人 18-99")
    assert settings.parse_bands(settings.bands_text(settings.DEFAULT_BANDS)) == settings.DEFAULT_BANDS
    with rt.db.scope() as session:
        empty = build_report(session, ReportRequest("loans", "age", fiscal_period(2030)))
        assert empty.empty and empty.rows == []


def test_a_teacher_sees_only_their_school(rt, events):
    from elibrary.errors import Forbidden
    from elibrary.stats.reports import check_request

    request = check_request(ReportRequest("loans", "grade", month_period(2026, 5)), Staff("teacher", "K-HIGASHI"))
    assert request.school == "K-HIGASHI"
    with rt.db.scope() as session:
        report = build_report(session, request)
    assert [(r.label, r.total.text) for r in report.rows] == [("3", "<3")]
    assert report.total.total.text == "<3"
    with pytest.raises(Forbidden):
        check_request(ReportRequest("loans", "grade", month_period(2026, 5)), Staff("teacher", None))
    with pytest.raises(InvalidInput):
        check_request(ReportRequest("loans", "school", month_period(2026, 5)), Staff("teacher", "K-HIGASHI"))


def test_rolled_up_months_give_the_same_figures_as_the_events(rt, events):
    from elibrary.stats import rollup

    requests = [ReportRequest(m, b, p) for m in ("loans", "holds", "holds_filled") for b in ("none", "month", "ndc", "hour", "category")
                for p in (fiscal_period(2026), month_period(2026, 5), custom_period(date(2026, 4, 15), date(2027, 3, 31)))]
    with rt.db.scope() as session:
        before = [[(r.key, r.total.text, r.previous.text, [c.text for c in r.cells]) for r in build_report(session, q).rows] for q in requests]
        assert rollup.roll_up(session, date(2027, 4, 2))[:2] == ["2025-04", "2025-05"]
        assert rollup.roll_up(session, date(2027, 4, 3)) == []  # done once
    with rt.db.scope() as session:
        after = [[(r.key, r.total.text, r.previous.text, [c.text for c in r.cells]) for r in build_report(session, q).rows] for q in requests]
        session.execute(insert(LendingEvent.__table__), [_event(date(2026, 5, 20))])  # an event the roll-up has not seen ...
    assert after == before
    with rt.db.scope() as session:
        assert build_report(session, ReportRequest("loans", "none", month_period(2026, 5))).total.total.value == 14  # ... is not counted twice


def test_breakdowns_by_age_school_and_grade_from_the_roll_up_agree_with_the_events(rt, events):
    from elibrary.stats import rollup

    with rt.db.scope() as session:
        settings.save(session, settings.bands_text(settings.DEFAULT_BANDS), "1", "")  # every cell certain: the roll-up answers
        requests = [ReportRequest("loans", b, p) for b in ("age", "school", "grade", "category", "none")
                    for p in (fiscal_period(2026), month_period(2026, 5), custom_period(date(2026, 4, 15), date(2027, 3, 31)))]
        before = [[(r.key, r.total.text, r.previous.text, [c.text for c in r.cells]) for r in build_report(session, q).rows] for q in requests]
        rollup.roll_up(session, date(2027, 4, 2))
    with rt.db.scope() as session:
        after = [[(r.key, r.total.text, r.previous.text, [c.text for c in r.cells]) for r in build_report(session, q).rows] for q in requests]
        with_threshold = settings.save(session, settings.bands_text(settings.DEFAULT_BANDS), "3", "")
        assert with_threshold.small_cell == 3
        small = {r.label: r.total.text for r in build_report(session, ReportRequest("loans", "age", fiscal_period(2026))).rows}
    assert after == before
    assert small["小学生"] == "<3"  # cells below the threshold are still counted exactly from the events


def _direct_borrowers(session, start: date, end: date, **where) -> int:
    """Unique borrowers counted plainly from the events."""
    from sqlalchemy import func, select

    stmt = select(func.count(func.distinct(LendingEvent.borrower_key))).where(
        LendingEvent.kind == "borrow", LendingEvent.occurred_on >= start, LendingEvent.occurred_on <= end)
    for column, test in where.items():
        stmt = stmt.where(test(getattr(LendingEvent, column)))
    return session.scalar(stmt) or 0


@pytest.fixture
def borrowers_over_months(rt):
    rows = []
    for i in range(8):  # 令和8年度: eight adults borrowing in April, June and September, with different NDC and hours
        for month, ndc, hour in ((4, "913", 10), (6, "493", 20), (9, "913", 20)):
            rows.append(_event(date(2026, month, 3 + i), key=f"c{i}", age=30 + i * 5 + (month >= 6 and i == 0), ndc=ndc, hour=hour))
    rows.append(_event(date(2026, 6, 20), key="c0", age=31, ndc="210", hour=9))  # c0 turned 31 in June: one borrower of 一般, not two
    for i in range(4):  # four pupils of two schools, in May and in March (the month not rolled up yet)
        school = "K-HIGASHI" if i < 3 else "K-NISHI"
        rows.append(_event(date(2026, 5, 12), key=f"p{i}", age=8, school=school, grade="3", category="student"))
        rows.append(_event(date(2027, 3, 2), key=f"p{i}", age=9, school=school, grade="3", category="student", ndc="726"))
    rows.append(_event(date(2027, 3, 3), key="c1", age=35, ndc="007", hour=21))
    rows.append(_event(date(2026, 6, 1), kind="hold", key="h1", ndc="913"))  # not a loan: not a borrower
    for i in range(5):  # 令和7年度
        rows.append(_event(date(2025, 7, 20), key=f"b{i}", age=40))
        rows.append(_event(date(2025, 11, 20), key=f"b{i}", age=40, ndc="493"))
    with rt.db.scope() as session:
        session.execute(insert(LendingEvent.__table__), rows)
    return rows


def test_unique_borrowers_by_a_breakdown_across_months_agree_with_a_direct_count(rt, borrowers_over_months):
    import openpyxl
    from pypdf import PdfReader

    from elibrary.stats import rollup

    periods = (fiscal_period(2026), custom_period(date(2026, 5, 15), date(2027, 3, 20)), month_period(2026, 6))
    requests = [ReportRequest(m, b, p) for m in ("borrowers", "school_accounts")
                for b in ("none", "month", "category", "age", "school", "grade", "ndc", "hour", "weekday") for p in periods]
    requests += [ReportRequest("borrowers", b, p, "K-HIGASHI") for b in ("none", "month", "grade", "hour") for p in periods]  # a teacher's view

    def figures(session):
        return [[(r.key, r.total.text, r.previous.text, [c.text for c in r.cells]) for r in build_report(session, q).rows]
                + [build_report(session, q).total.total.text] for q in requests]

    with rt.db.scope() as session:
        settings.save(session, settings.bands_text(settings.DEFAULT_BANDS), "1", "")  # show every cell
        from_events = figures(session)
        assert rollup.roll_up(session, date(2027, 3, 10))[-1] == "2027-02"  # March is not over: its days are read from the events
    with rt.db.scope() as session:
        assert figures(session) == from_events
        year = fiscal_period(2026)
        from sqlalchemy import select

        from elibrary.stats.models import YearPatron

        for fiscal_year, start, end in ((2025, date(2025, 4, 1), date(2026, 3, 31)), (2026, year.start, year.end)):
            kept = set(session.scalars(select(YearPatron.borrower_key).where(YearPatron.fiscal_year == fiscal_year)))
            assert kept and kept <= set(session.scalars(select(LendingEvent.borrower_key).where(
                LendingEvent.kind == "borrow", LendingEvent.occurred_on >= start, LendingEvent.occurred_on <= end)))  # no other year's key
        report = build_report(session, ReportRequest("borrowers", "ndc", year))
        by_ndc = {r.key: r.total.value for r in report.rows}
        for ndc in ("9", "4", "2", "0", "7"):
            assert by_ndc[ndc] == _direct_borrowers(session, year.start, year.end, ndc=lambda c, n=ndc: c.like(f"{n}%")), ndc
        assert by_ndc == {"9": 12, "4": 8, "2": 1, "0": 1, "7": 4}
        assert report.total.total.value == _direct_borrowers(session, year.start, year.end) == 12
        assert report.total.previous.value == 5
        june, march = report.columns.index("2026年6月"), report.columns.index("2027年3月")
        assert [r.cells[june].value for r in report.rows if r.key == "4"] == [8]
        assert report.total.cells[june].value == 8 and report.total.cells[march].value == 5
        by_age = {r.label: r.total.value for r in build_report(session, ReportRequest("borrowers", "age", year)).rows}
        assert by_age == {"小学生": 4, "一般": 6, "60歳以上": 2}  # c0 at 30 and at 31 is one borrower
        by_hour = {r.key: r.total.value for r in build_report(session, ReportRequest("borrowers", "hour", year)).rows}
        assert by_hour["20"] == _direct_borrowers(session, year.start, year.end, hour=lambda c: c == 20) == 8
        accounts = build_report(session, ReportRequest("school_accounts", "school", year))
        assert {r.key: r.total.value for r in accounts.rows} == {"K-HIGASHI": 3, "K-NISHI": 1}
        range_report = build_report(session, ReportRequest("borrowers", "none", periods[1]))
        assert range_report.total.total.value == _direct_borrowers(session, periods[1].start, periods[1].end) == 12
        sheets = exports.year_sheets(session, 2026, ["ndc"], measures=("borrowers",))
        text = exports.to_csv(sheets).decode("utf-8-sig")
        book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(sheets)))
        pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(exports.report_pdf(session, year, rt.settings))).pages)
    table = {r[0]: r for r in csv.reader(io.StringIO(text)) if r and r[0].startswith(("9 ", "4 "))}
    assert table["9 文学"][-3] == "12" and table["4 自然科学"][-3] == "8"
    sheet = book[[n for n in book.sheetnames if "NDC" in n][0]]
    values = {row[0]: row for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert values["9 文学"][-3] == 12 and values["合計"][-3] == 12
    assert "利用者数（実人数）" in pdf_text and "12" in pdf_text


def test_a_month_rolled_up_again_replaces_its_borrowers(rt, borrowers_over_months):
    from sqlalchemy import delete

    from elibrary.stats import rollup

    year = fiscal_period(2026)
    with rt.db.scope() as session:
        rollup.roll_up(session, date(2027, 3, 10))
        session.execute(insert(LendingEvent.__table__), [_event(date(2026, 6, 25), key="late", age=70)])
        session.execute(delete(LendingEvent).where(LendingEvent.borrower_key == "p3", LendingEvent.occurred_on == date(2026, 5, 12)))
        for first in (date(2026, 5, 1), date(2026, 6, 1)):
            rollup.roll_up_month(session, first, date(2027, 3, 10))
        by_age = {r.label: r.total.value for r in build_report(session, ReportRequest("borrowers", "age", year)).rows}
        may = {r.key: r.total.value for r in build_report(session, ReportRequest("school_accounts", "school", custom_period(
            date(2026, 5, 1), date(2026, 6, 30)))).rows}
    assert by_age == {"小学生": 4, "一般": 6, "60歳以上": 3}  # p3 still borrowed in March; "late" is new
    assert may == {"K-HIGASHI": 3}  # p3's May loan is gone, so K-NISHI had no account active in May–June


def test_months_rolled_up_without_their_borrowers_are_read_from_the_events(rt, borrowers_over_months):
    from sqlalchemy import delete

    from elibrary.stats import rollup
    from elibrary.stats.models import MonthPatrons, YearPatron

    year = fiscal_period(2026)
    with rt.db.scope() as session:
        rollup.roll_up(session, date(2027, 3, 10))
        session.execute(delete(YearPatron))  # as an older version's roll-up leaves them during a rolling upgrade
        session.execute(delete(MonthPatrons))
        report = build_report(session, ReportRequest("borrowers", "ndc", year))
        assert report.total.total.value == _direct_borrowers(session, year.start, year.end) == 12
        assert {r.key: r.total.value for r in report.rows} == {"9": 12, "4": 8, "2": 1, "0": 1, "7": 4}
        assert report.total.previous.value == 5
