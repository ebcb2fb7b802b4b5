"""``elibrary stats export`` and the monthly report e-mailed through a real SMTP server on loopback."""
import email
import io
from datetime import datetime, timezone

import pytest

from elibrary.jobs import run_job
from elibrary.stats import settings as stats_settings
from tests.patrons.test_registration import free_port
from tests.stats.test_reports import events  # noqa: F401  (fixture)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def app_config(app_config, inbox):
    app_config.update(ELIBRARY_SMTP_HOST="127.0.0.1", ELIBRARY_SMTP_PORT=inbox[1], ELIBRARY_SMTP_FROM="library@city.example.jp")
    return app_config


def test_export_writes_the_year_as_xlsx_csv_and_pdf(runner, rt, events, tmp_path):  # noqa: F811
    import openpyxl

    result = runner.invoke(args=["stats", "export", "--year", "2026", "--format", "xlsx", "--by", "month,age,ndc", str(tmp_path / "y.xlsx")])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "y.xlsx")
    assert "JLA調査_電子書籍" in book.sheetnames and "概要" in book.sheetnames
    result = runner.invoke(args=["stats", "export", "--year", "2026", "--format", "csv", "--encoding", "cp932", str(tmp_path / "y.csv")])
    assert result.exit_code == 0, result.output
    assert "令和8年度" in (tmp_path / "y.csv").read_bytes().decode("cp932")
    result = runner.invoke(args=["stats", "export", "--year", "2026", "--format", "pdf", str(tmp_path / "y.pdf")])
    assert result.exit_code == 0 and (tmp_path / "y.pdf").read_bytes().startswith(b"%PDF")
    bad = runner.invoke(args=["stats", "export", "--year", "2026", "--format", "csv", "--by", "shoe-size", str(tmp_path / "z.csv")])
    assert bad.exit_code != 0 and "shoe-size" in bad.output


def test_the_monthly_report_is_mailed_on_the_first_with_the_pdf(rt, events, inbox):  # noqa: F811
    handler, _port = inbox
    with rt.db.scope() as session:
        stats_settings.save(session, stats_settings.bands_text(stats_settings.DEFAULT_BANDS), "3", "kanri@city.example.jp, kyoiku@city.example.jp")
    job = rt.jobs.get("stats-monthly-report")
    assert "1st" in job.run(rt, datetime(2026, 5, 31, 0, 0, tzinfo=timezone.utc))
    assert handler.messages == []
    outcome = run_job(rt, job, datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc))  # 09:00 JST on 1 June: May's report
    assert "sent to 2" in outcome.line()
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == ["kanri@city.example.jp", "kyoiku@city.example.jp"]
    mail = email.message_from_bytes(handler.messages[0].content, policy=email.policy.default)
    assert "令和8年5月" in str(mail["Subject"])
    body = mail.get_body(("plain",)).get_content()
    assert "貸出数: 14" in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF")
    from pypdf import PdfReader

    assert "令和8年5月" in PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
