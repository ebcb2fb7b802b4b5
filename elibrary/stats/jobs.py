"""Scheduled statistics work: erase closed 年度 keys and old visitor salts; e-mail the monthly report."""
from __future__ import annotations

from datetime import datetime, timedelta

from elibrary.notify.base import DeliveryFailed, Message
from elibrary.notify.smtp import SMTPNotifier
from elibrary.security import yearkeys
from elibrary.stats import rollup
from elibrary.stats import settings as stats_settings
from elibrary.stats.periods import month_period
from elibrary.usage.counters import erase_old_salts, tokyo_day


def erase_closed_keys(runtime, now: datetime) -> str:
    """The ``stats-year-keys`` job: the borrower keys of closed 年度, and the visitor salts of past days, are erased."""
    today = tokyo_day(now)
    with runtime.db.scope() as session:
        years = yearkeys.erase_closed(session, today)
        salts = erase_old_salts(session, today)
        keys = yearkeys.year_keys_of(session)
    if keys is not None:
        keys.forget()
    return f"stats: erased the keys of {len(years)} closed 年度 and {salts} visitor salts"


def roll_up(runtime, now: datetime) -> str:
    """The ``stats-rollup`` job: count each finished month once per breakdown (reports then read those)."""
    with runtime.db.scope() as session:
        done = rollup.roll_up(session, tokyo_day(now))
    return f"stats: rolled up {len(done)} months"


def monthly_report(runtime, now: datetime, *, force: bool = False) -> str:
    """The ``stats-monthly-report`` job: on the 1st (Japan time), last month's PDF report to the chosen staff addresses.

    Statistics hold no personal data, so the report goes straight to the SMTP server (with the PDF attached)
    rather than through the notification outbox.
    """
    from elibrary.stats import exports

    today = tokyo_day(now)
    if today.day != 1 and not force:
        return "stats: the monthly report goes out on the 1st"
    last = today.replace(day=1) - timedelta(days=1)
    period = month_period(last.year, last.month)
    with runtime.db.scope(write=False) as session:
        recipients = stats_settings.load(session).recipients
        if not recipients:
            return "stats: no addresses are set for the monthly report"
        pdf = exports.report_pdf(session, period, runtime.settings)
        summary = exports.summary_text(session, period)
    library = runtime.settings.get("ELIBRARY_LIBRARY_NAME") or "電子図書館"
    subject = f"【{library}】電子図書館 利用統計 {period.label}"
    body = (f"{library} 電子図書館の利用統計（{period.label}）です。詳しくは添付のPDFをご覧ください。\n\n{summary}\n\n"
            "数値は個人を特定できない集計です。少人数の欄は「<N」と表示しています。\n"
            "このメールは統計設定で選ばれた職員のアドレスに自動で送信しています。\n")
    send_report(runtime.settings, recipients, subject, body, pdf, f"stats-{last.year}-{last.month:02d}.pdf")
    return f"stats: monthly report for {period.label} sent to {len(recipients)} addresses"


def send_report(settings, recipients, subject: str, body: str, pdf: bytes, filename: str) -> None:
    """One e-mail per address through ``ELIBRARY_SMTP_*``, the PDF attached (raises ``DeliveryFailed``)."""
    import smtplib
    import ssl

    smtp_settings = SMTPNotifier.from_settings(settings)
    try:
        with smtplib.SMTP(smtp_settings.host, smtp_settings.port, timeout=smtp_settings.timeout) as smtp:
            if smtp_settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if smtp_settings.user:
                smtp.login(smtp_settings.user, smtp_settings.password or "")
            for address in recipients:
                mail = smtp_settings.build(Message(channel="email", address=address, subject=subject, body=body, kind="stats-monthly"))
                mail.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
                smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP delivery failed: {exc.__class__.__name__}") from None
