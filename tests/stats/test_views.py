"""The statistics pages: the librarian's report, exports, settings, and a teacher limited to their school."""
import csv
import io

from tests.conftest import csrf_token_for, sign_in_staff
from tests.stats.test_reports import events  # noqa: F401  (fixture)


def test_a_librarian_compares_a_year_by_age_band_and_downloads_it(client, rt, events):  # noqa: F811
    sign_in_staff(client, rt, "librarian")
    page = client.get("/staff/stats/?period=year&year=2026&measure=loans&by=age")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "令和8年度（2026年度）" in html and "令和7年度（2025年度）" in html
    assert "&lt;3" in html and "<svg" in html and 'role="img"' in html
    exported = client.get("/staff/stats/export/csv?period=year&year=2026&measure=loans&by=age")
    assert exported.data.startswith("\ufeff".encode())
    rows = {r[0]: r for r in csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))) if r}
    assert rows["一般"][-3] == "21" and rows["小学生"][-3] == "<3" and rows["合計"][-3] == "27"
    assert client.get("/staff/stats/export/csv-cp932?period=year&year=2026&measure=loans&by=age").data.decode("cp932")
    assert client.get("/staff/stats/export/xlsx?period=year&year=2026").data[:2] == b"PK"
    pdf = client.get("/staff/stats/report.pdf?period=month&month=2026-05")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_bad_periods_and_breakdowns_get_messages_not_errors(client, rt):
    sign_in_staff(client, rt, "librarian")
    backwards = client.get("/staff/stats/?period=custom&start=2026-05-01&end=2026-04-01")
    assert backwards.status_code == 400 and "より前" in backwards.get_data(as_text=True)
    assert client.get("/staff/stats/?period=custom&start=2026-05-01&end=xx").status_code == 400
    assert client.get("/staff/stats/?measure=visits&by=school").status_code == 400
    empty = client.get("/staff/stats/?period=year&year=2030")
    assert empty.status_code == 200 and "この期間の記録はありません" in empty.get_data(as_text=True)


def test_age_bands_with_a_gap_are_refused_on_the_settings_page(client, rt):
    sign_in_staff(client, rt, "librarian")
    token = csrf_token_for(client)
    refused = client.post("/staff/stats/settings", data={"csrf_token": token, "bands": "子ども 0-11\n大人 13-", "small_cell": "3", "recipients": ""})
    assert refused.status_code == 400 and "12歳から12歳" in refused.get_data(as_text=True)
    saved = client.post("/staff/stats/settings", data={"csrf_token": token, "bands": "子ども 0-12\n大人 13-", "small_cell": "5",
                                                        "recipients": "kanri@city.example.jp"})
    assert saved.status_code == 303
    assert "子ども 0-12" in client.get("/staff/stats/settings").get_data(as_text=True)


def test_a_teacher_sees_only_their_school(client, rt, events):  # noqa: F811
    sign_in_staff(client, rt, "teacher", school="K-HIGASHI")
    page = client.get("/staff/stats/?period=month&month=2026-05")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "K-HIGASHI" in html and "&lt;3" in html
    assert ">12<" not in html  # the city's adults are not in a school's view
    assert client.get("/staff/stats/?period=month&month=2026-05&by=school").status_code == 400
    assert client.get("/staff/stats/?period=month&month=2026-05&measure=visits").status_code == 400
    assert client.get("/staff/stats/settings").status_code == 403


def test_every_measure_and_breakdown_offered_answers(client, rt, events):  # noqa: F811
    from elibrary.stats.measures import MEASURES, SOURCE_BREAKDOWNS

    sign_in_staff(client, rt, "librarian")
    for name, measure in MEASURES.items():
        for breakdown in SOURCE_BREAKDOWNS[measure.source]:
            response = client.get(f"/staff/stats/?period=month&month=2026-05&measure={name}&by={breakdown}")
            assert response.status_code == 200, (name, breakdown)
