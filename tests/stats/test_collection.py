"""Events carry the patron's age, school and grade, the licence, channel and a per-年度 borrower key."""
from datetime import date, datetime, timezone

from sqlalchemy import select

from elibrary.catalog.models import Audience
from elibrary.lending import services
from elibrary.lending.history import PATRON_FACTS
from elibrary.lending.models import LendingEvent
from elibrary.patrons import registration
from elibrary.patrons.registration import RegistrationPolicy
from elibrary.security import yearkeys
from elibrary.stats.models import RegistrationEvent
from tests.lending.factories import make_licensed_title, make_patron

NOW = datetime(2026, 6, 10, 3, 0, tzinfo=timezone.utc)  # 12:00 JST


def _events(session, kind="borrow"):
    return list(session.scalars(select(LendingEvent).where(LendingEvent.kind == kind).order_by(LendingEvent.id)))


def test_an_adults_age_comes_from_the_date_of_birth_and_is_not_stored(rt, db_session):
    adult = make_patron(db_session, rt.cipher, birth_date_enc=rt.cipher.encrypt("1980-06-11", "patron.birth_date"))
    title = make_licensed_title(db_session, "concurrent", 2)
    title.ndc = "913.6"
    db_session.flush()
    services.borrow(db_session, adult, title.id, now=NOW)
    (event,) = _events(db_session)
    assert event.age == 45  # the 46th birthday is tomorrow
    assert (event.school, event.grade, event.channel) == ("", "", "web")
    assert event.license_id is not None and event.license_model == "concurrent"
    assert (event.ndc, event.hour, event.weekday) == ("913", 12, 2)
    assert len(event.borrower_key) == 32
    assert "1980" not in repr([getattr(event, c.key) for c in LendingEvent.__table__.columns])


def test_a_provisional_patrons_age_comes_from_the_registration(rt, db_session):
    form = {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "2014-04-01", "postal_code": "650-0001",
            "address": "神戸市中央区1-1", "email": "hanako@example.jp"}
    reg, token = registration.start(db_session, rt.cipher, form, RegistrationPolicy())
    patron, _card = registration.confirm(db_session, rt.cipher, token, "secret-pin-1", RegistrationPolicy())
    title = make_licensed_title(db_session, "open")  # provisional patrons read open titles
    services.borrow(db_session, patron, title.id, now=NOW)
    (event,) = _events(db_session)
    assert event.category == "provisional" and event.age == 12 and event.license_model == "open"
    registered = db_session.scalars(select(RegistrationEvent)).all()
    assert [(r.kind, r.category, r.age is not None) for r in registered] == [("provisional", "provisional", True)]
    registration.approve(db_session, reg.id, "citizen", cipher=rt.cipher)  # the registration row is erased ...
    other = make_licensed_title(db_session, "concurrent", 1)
    services.borrow(db_session, patron, other.id, now=NOW)
    assert _events(db_session)[-1].age == 12  # ... the age is still known (the encrypted date stays with the patron)
    assert [r.kind for r in db_session.scalars(select(RegistrationEvent).order_by(RegistrationEvent.id))] == ["provisional", "confirmed"]


def test_a_pupils_school_and_grade_come_from_the_schools_hook(rt, db_session):
    pupil = make_patron(db_session, rt.cipher, category="student")

    def pupil_facts(session, patron):  # what the schools wing registers
        return {"school": "K-HIGASHI", "grade": "小3", "age": 8} if patron.id == pupil.id else {}

    rt.db.hooks.add(PATRON_FACTS, pupil_facts)
    title = make_licensed_title(db_session, "concurrent", 2)
    title.audience = Audience.children
    db_session.flush()
    services.borrow(db_session, pupil, title.id, now=NOW, channel="opds")
    (event,) = _events(db_session)
    assert (event.school, event.grade, event.age, event.channel) == ("K-HIGASHI", "小3", 8, "opds")


def test_the_borrower_key_is_stable_within_a_year_and_changes_with_the_year(rt, db_session):
    patron = make_patron(db_session, rt.cipher)
    keys = yearkeys.year_keys_of(db_session)
    june, march, april = date(2026, 6, 1), date(2027, 3, 31), date(2027, 4, 1)
    assert keys.borrower_key(db_session, patron.id, june) == keys.borrower_key(db_session, patron.id, march)
    assert keys.borrower_key(db_session, patron.id, june) != keys.borrower_key(db_session, patron.id, april)
    assert keys.borrower_key(db_session, patron.id, june) != keys.borrower_key(db_session, patron.id + 1, june)


def test_closing_a_year_erases_its_key(rt, db_session):
    keys = yearkeys.year_keys_of(db_session)
    keys.borrower_key(db_session, 1, date(2025, 5, 1))
    keys.borrower_key(db_session, 1, date(2026, 5, 1))
    assert yearkeys.erase_closed(db_session, date(2026, 4, 1)) == [2025]
    assert db_session.scalars(select(yearkeys.StatsYearKey.fiscal_year)).all() == [2026]
    stored = db_session.scalar(select(yearkeys.StatsYearKey.key_enc))
    assert b"stats" not in stored and len(stored) > 32  # kept encrypted


def test_an_event_at_2330_on_31_march_belongs_to_the_old_year(rt, db_session):
    patron = make_patron(db_session, rt.cipher)
    title = make_licensed_title(db_session, "concurrent", 2)
    services.borrow(db_session, patron, title.id, now=datetime(2027, 3, 31, 14, 30, tzinfo=timezone.utc))  # 23:30 JST
    (event,) = _events(db_session)
    assert event.occurred_on == date(2027, 3, 31) and event.hour == 23
    assert yearkeys.fiscal_year_of(event.occurred_on) == 2026
