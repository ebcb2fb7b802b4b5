"""The report service: one measure, one breakdown, one period — a table with totals and the same period a year
earlier, counted with grouped SQL on the de-identified tables (never a row per patron leaves the database).

Cells of a breakdown by age band, school or grade (and every cell of a school's own view) that stand for
fewer than N patrons are hidden as "<N" (N is the library's setting): a report can never point at a pupil.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Integer, String, and_, case, cast, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from elibrary.catalog.models import Title
from elibrary.errors import Forbidden, InvalidInput
from elibrary.lending.models import LendingEvent
from elibrary.stats import rollup
from elibrary.stats import settings as stats_settings
from elibrary.stats.measures import BREAKDOWNS, MEASURES, SOURCE_BREAKDOWNS, TEACHER_BREAKDOWNS, TEACHER_MEASURES, UNKNOWN, value_label
from elibrary.stats.models import MonthCount, MonthPatrons, RegistrationEvent, YearPatron
from elibrary.stats.periods import Period, fiscal_year_of
from elibrary.usage.models import SearchQueryDay, TitleViewDay, VisitDay

COMPLEMENT = "＊"


@dataclass(frozen=True)
class ReportRequest:
    """What the librarian (or teacher) asked for; ``school`` limits every count to one school."""

    measure: str
    breakdown: str
    period: Period
    school: str | None = None


@dataclass(frozen=True)
class Cell:
    """A count, or hidden because it stands for fewer than ``limit`` patrons."""

    value: int
    hidden: bool = False
    limit: int = 0
    complement: bool = False  # hidden only so that a small cell cannot be worked out from the total

    @property
    def text(self) -> str:
        """The cell as shown and exported: ``1,234``, ``<3``, or ``＊`` (hidden to protect a small cell)."""
        if self.hidden:
            return COMPLEMENT if self.complement else f"<{self.limit}"
        return f"{self.value:,}"

    @property
    def number(self) -> int | str:
        """For spreadsheets: the number, or the ``<3`` / ``＊`` text."""
        return self.text if self.hidden else self.value


@dataclass
class Row:
    """One breakdown value: a cell per month column, the period's total, the year-earlier total and change."""

    key: str
    label: str
    cells: list[Cell]
    total: Cell
    previous: Cell

    @property
    def change(self) -> str:
        """The change against a year earlier, in percent (blank when hidden or nothing to compare)."""
        if self.total.hidden or self.previous.hidden or not self.previous.value:
            return ""
        change = (self.total.value - self.previous.value) / self.previous.value * 100
        return "増減なし" if change == 0 else f"{abs(change):.1f}%{'増' if change > 0 else '減'}"


@dataclass
class Report:
    """The table of a report, ready for the page, the chart and every export."""

    request: ReportRequest
    measure_label: str
    breakdown_label: str
    previous_period: Period
    columns: list[str]  # month labels when the period spans several months (and the breakdown is not by month)
    rows: list[Row]
    total: Row
    small_cell: int
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing was counted in the period."""
        return self.total.total.value == 0 and not self.total.total.hidden


def check_request(request: ReportRequest, staff) -> ReportRequest:
    """Refuse unknown measures and breakdowns; a teacher sees only their own school, with the teachers' measures."""
    measure, breakdown = MEASURES.get(request.measure), BREAKDOWNS.get(request.breakdown)
    if measure is None:
        raise InvalidInput("集計する項目を選んでください。", "Choose what to count.", field="measure")
    if breakdown is None or request.breakdown not in SOURCE_BREAKDOWNS[measure.source]:
        raise InvalidInput(f"「{measure.ja}」はこの内訳では集計できません。", f"{measure.en} cannot be broken down that way.", field="breakdown")
    role = getattr(getattr(staff, "role", None), "value", getattr(staff, "role", None))
    if role == "teacher":
        if not staff.school_code:
            raise Forbidden("学校が設定されていないため、統計を表示できません。図書館にお問い合わせください。",
                                   "No school is set for your account, so no statistics can be shown.")
        if request.measure not in TEACHER_MEASURES or request.breakdown not in TEACHER_BREAKDOWNS:
            raise InvalidInput("学校向けの統計では、この項目・内訳は選べません。", "That measure or breakdown is not offered for schools.", field="measure")
        return ReportRequest(request.measure, request.breakdown, request.period, staff.school_code)
    if role not in ("admin", "librarian"):
        raise Forbidden()
    return request


def build_report(session: Session, request: ReportRequest) -> Report:
    """Count the measure by the breakdown over the period and the same period a year earlier (after ``check_request``)."""
    measure, breakdown = MEASURES[request.measure], BREAKDOWNS[request.breakdown]
    settings = stats_settings.load(session)
    period, previous = request.period, request.period.year_earlier()
    by_month = request.breakdown != "month" and len(period.months()) > 1
    limit = settings.small_cell if (breakdown.patrons or request.school) else 0
    counted: dict = {}  # the same count asked twice (the total row of a report without breakdown) runs once
    counter = _Counter(session, measure, settings, request.school, with_patrons=bool(limit) or measure.distinct, memo=counted)
    counts = counter.count(period, request.breakdown, by_month) if by_month else {}
    totals = counter.count(period, request.breakdown, False)
    earlier = counter.count(previous, request.breakdown, False)
    if request.breakdown == "month":  # a year earlier, month for month
        earlier = {("", _shift_month(value, 1)): n for (_, value), n in earlier.items()}
    columns = period.months() if by_month else []
    # The total row is no breakdown cell: library-wide it is counted without patrons (from the roll-up); in a
    # school's own view every cell, the total too, keeps the small-cell rule.
    total_limit = settings.small_cell if request.school else 0
    totals_counter = _Counter(session, measure, settings, request.school, with_patrons=bool(total_limit) or measure.distinct, memo=counted)
    month_totals = totals_counter.count(period, "none", True) if by_month else {}
    grand, grand_earlier = totals_counter.count(period, "none", False), totals_counter.count(previous, "none", False)
    keys = _ordered_keys(request.breakdown, {v for _, v in totals} | {v for _, v in earlier}, totals, settings, period)

    def cell(found: tuple[int, int] | None, limit: int = limit) -> Cell:
        value, patrons = found or (0, 0)
        return Cell(value, hidden=bool(limit and value and patrons < limit), limit=limit)

    rows = [Row(key, value_label(request.breakdown, key) if key != UNKNOWN else UNKNOWN,
                [cell(counts.get((m, key))) for m in columns], cell(totals.get(("", key))), cell(earlier.get(("", key))))
            for key in keys]
    total = Row("", "合計", [cell(month_totals.get((m, "")), total_limit) for m in columns], cell(grand.get(("", "")), total_limit),
                cell(grand_earlier.get(("", "")), total_limit))
    if limit:
        _suppress_complements(rows, total)
    report = Report(request, measure.ja, breakdown.ja, previous, [value_label("month", m) for m in columns], rows, total, settings.small_cell)
    if measure.distinct and request.breakdown != "none":
        report.notes.append("利用者数（実人数）は内訳ごとに数えるため、内訳の合計は全体の人数と一致しないことがあります。")
    if measure.distinct and period.start.year != period.end.year and period.kind == "custom":
        report.notes.append("利用者の識別は年度ごとに変わるため、年度をまたぐ期間の実人数は年度ごとの人数の合計です。")
    if limit:
        report.notes.append(f"利用者が{limit}人未満の欄は「<{limit}」と表示しています（個人が特定されないため）。"
                            f"「{COMPLEMENT}」は、合計から少人数の欄が計算できないように伏せた数です。")
    return report


def _suppress_complements(rows: list[Row], total: Row) -> None:
    """A single hidden cell in a column could be worked out from the total: hide the next smallest too."""
    columns = [(lambda r, i=i: r.cells[i], lambda r, c, i=i: r.cells.__setitem__(i, c)) for i in range(len(total.cells))]
    columns += [(lambda r: r.total, lambda r, c: setattr(r, "total", c)), (lambda r: r.previous, lambda r, c: setattr(r, "previous", c))]
    for get, put in columns:
        if get(total).hidden or sum(get(r).hidden for r in rows) != 1:
            continue
        shown = [r for r in rows if not get(r).hidden and get(r).value > 0]
        if shown:
            smallest = min(shown, key=lambda r: get(r).value)
            put(smallest, Cell(get(smallest).value, hidden=True, limit=get(smallest).limit, complement=True))
        else:
            put(total, Cell(get(total).value, hidden=True, limit=get(total).limit, complement=True))


def _shift_month(value: str, years: int) -> str:
    year, month = value.split("-")
    return f"{int(year) + years:04d}-{month}"


def _ordered_keys(breakdown: str, keys: set[str], totals: dict, settings, period: Period) -> list[str]:
    if breakdown == "none":
        return [""]
    if breakdown == "month":
        return period.months()
    if breakdown == "age":
        order = [b.label for b in settings.bands] + [UNKNOWN]
        return [k for k in order if k in keys]
    if breakdown in ("hour", "weekday", "ndc", "ndc2", "grade"):
        return sorted(keys, key=lambda k: (k in ("", UNKNOWN), int(k) if k.isdigit() else 0, k))
    return sorted(keys, key=lambda k: (k in ("", UNKNOWN), -totals.get(("", k), (0, 0))[0], k))


class _Counter:
    """Grouped counts of one measure: ``{(month or "", value): (count, patrons)}``."""

    def __init__(self, session: Session, measure, settings, school: str | None, *, with_patrons: bool = True, memo: dict | None = None) -> None:
        self.session, self.measure, self.settings, self.school = session, measure, settings, school
        self.with_patrons = with_patrons  # counting distinct patrons costs most: only for small cells and unique borrowers
        self.memo = {} if memo is None else memo

    def count(self, period: Period, breakdown: str, by_month: bool) -> dict[tuple[str, str], tuple[int, int]]:
        """Run one grouped query (or reuse its answer)."""
        key = (self.with_patrons, period.start, period.end, breakdown, by_month)
        if key not in self.memo:
            self.memo[key] = self._count(period, breakdown, by_month)
        return self.memo[key]

    def _count(self, period: Period, breakdown: str, by_month: bool) -> dict[tuple[str, str], tuple[int, int]]:
        source = self.measure.source
        if source == "events":
            return self._events(period, breakdown, by_month)
        if source == "registrations":
            return self._grouped(RegistrationEvent.occurred_on, self._registration_dim(breakdown), func.count(), func.count(),
                                 [], period, by_month, RegistrationEvent)
        if source == "views":
            dim = self._title_dim(breakdown)
            stmt_from = TitleViewDay.__table__.outerjoin(Title.__table__, Title.id == TitleViewDay.title_id) if dim is not None else TitleViewDay
            total = func.coalesce(func.sum(TitleViewDay.views), 0)
            return self._grouped(TitleViewDay.day, dim, total, total, [], period, by_month, stmt_from)
        if source == "searches":
            total = func.coalesce(func.sum(SearchQueryDay.zero_hits if self.measure.zero_only else SearchQueryDay.searches), 0)
            dim = func.substr(cast(SearchQueryDay.day, String), 1, 7) if breakdown == "month" else None
            return self._grouped(SearchQueryDay.day, dim, total, total, [], period, by_month, SearchQueryDay)
        total = func.coalesce(func.sum(VisitDay.visits), 0)
        dim = func.substr(cast(VisitDay.day, String), 1, 7) if breakdown == "month" else None
        return self._grouped(VisitDay.day, dim, total, total, [VisitDay.area == self.measure.area], period, by_month, VisitDay)

    def _grouped(self, day_column, dim, counted, patrons, conditions, period: Period, by_month: bool, from_) -> dict:
        month = func.substr(cast(day_column, String), 1, 7) if by_month else literal_column("''")
        value = dim if dim is not None else literal_column("''")
        # Grouped by the output names: PostgreSQL sees the bound parameters of an expression repeated in GROUP BY
        # as different expressions, and refuses to group by a constant.
        grouping = [literal_column(name) for name, used in (("m", by_month), ("v", dim is not None)) if used]
        stmt = (select(month.label("m"), value.label("v"), counted, patrons).select_from(from_)
                .where(day_column >= period.start, day_column <= period.end, *conditions).group_by(*grouping))
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for m, v, n, p in self.session.execute(stmt):
            key = ("" if m is None else str(m), UNKNOWN if v is None or v == "" and dim is not None else str(v))
            old = found.get(key, (0, 0))
            found[key] = (old[0] + int(n or 0), old[1] + int(p or 0))
        return found

    def _events(self, period: Period, breakdown: str, by_month: bool) -> dict:
        e = LendingEvent
        conditions = [e.kind.in_(self.measure.kinds)]
        if self.measure.from_hold:
            conditions.append(e.from_hold.is_(True))
        if self.measure.pupils_only:
            conditions.append(e.school != "")
        if self.school:
            conditions.append(e.school == self.school)
        patrons = func.count(func.distinct(e.borrower_key)) if self.with_patrons else literal_column("0")
        counted = patrons if self.measure.distinct else func.count()
        if self.measure.distinct and not self.measure.from_hold and set(self.measure.kinds) <= set(rollup.YEAR_PATRON_KINDS):
            borrowers = self._year_patrons(period, breakdown, by_month, conditions)
            if borrowers is not None:
                return borrowers
        if self.with_patrons and not self.measure.distinct and not self.school and not self.measure.pupils_only:
            bounded = self._bounded(period, breakdown, by_month, conditions)
            if bounded is not None:
                return bounded
        if self.with_patrons or self.school or self.measure.pupils_only:
            return self._grouped(e.occurred_on, self._event_dim(breakdown), counted, patrons, conditions, period, by_month, e)
        # Event counts: the rolled-up months, and the days not rolled up yet from the events themselves.
        months = rollup.rolled_months(self.session, period.start, period.end)
        found = self._rolled(months, breakdown, by_month) if months else {}
        for start, end in _gaps(period, months):
            part = Period(start, end, "", "custom")
            for key, (n, p) in self._grouped(e.occurred_on, self._event_dim(breakdown), counted, patrons, conditions, part, by_month, e).items():
                old = found.get(key, (0, 0))
                found[key] = (old[0] + n, old[1] + p)
        return found

    def _bounded(self, period: Period, breakdown: str, by_month: bool, conditions: list) -> dict | None:
        """Counts with a lower bound of patrons per cell from the roll-up (a month's most patrons of one age, school ...).

        A cell whose bound reaches the small-cell threshold is certainly shown; if any cell stays below it, None:
        the caller counts the exact patrons from the events.
        """
        if breakdown not in rollup.PATRON_DIMS:
            return None
        e, m = LendingEvent, MonthCount
        months = rollup.rolled_months(self.session, period.start, period.end)
        if not months:
            return None
        where = [m.month.in_(sorted(months)), m.kind.in_(self.measure.kinds), m.dim == breakdown]
        if self.measure.from_hold:
            where.append(m.from_hold.is_(True))
        found: dict[tuple[str, str], tuple[int, int]] = {}
        bands = {b.label: b for b in self.settings.bands}

        def value_of(raw: str) -> str:
            if breakdown == "age":
                if not raw:
                    return UNKNOWN
                age = int(raw)
                return next((label for label, b in bands.items() if b.low <= age and (b.high is None or age <= b.high)), UNKNOWN)
            return UNKNOWN if breakdown != "none" and not raw else ("" if breakdown == "none" else raw)

        for month, raw, events, patrons in self.session.execute(select(m.month, m.value, m.events, m.patrons).where(*where)):
            key = (month if by_month else "", value_of(raw or ""))
            old = found.get(key, (0, 0))
            found[key] = (old[0] + int(events), max(old[1], int(patrons)))
        patrons_expr = func.count(func.distinct(e.borrower_key))
        for start, end in _gaps(period, months):
            part = Period(start, end, "", "custom")
            for key, (n, p) in self._grouped(e.occurred_on, self._event_dim(breakdown), func.count(), patrons_expr, conditions, part,
                                             by_month, e).items():
                old = found.get(key, (0, 0))
                found[key] = (old[0] + n, max(old[1], p))
        if any(n and p < self.settings.small_cell for n, p in found.values()):
            return None
        return found

    def _year_patrons(self, period: Period, breakdown: str, by_month: bool, conditions: list) -> dict | None:
        """Unique borrowers from the 年度's borrowers by value (the rolled-up months) and the events of the other days.

        None when fewer than two whole months are rolled up: the events of a month are as quick to read.
        """
        months = rollup.rolled_months(self.session, period.start, period.end)
        if months:  # a month rolled up by a version without these tables (a rolling upgrade) is read from its events
            months = set(self.session.scalars(select(MonthPatrons.month).where(MonthPatrons.month.in_(sorted(months))).distinct()))
        if len(months) < 2:
            return None
        e, y = LendingEvent, YearPatron
        dim = "none" if breakdown in ("none", "month") else breakdown
        years: dict[int, list[str]] = {}
        for month in sorted(months):
            years.setdefault(fiscal_year_of(date(int(month[:4]), int(month[5:]), 1)), []).append(month)
        gaps = _gaps(period, months)

        def rows_of(year: int, mask: int):
            where = [y.fiscal_year == year, y.kind.in_(self.measure.kinds), y.dim == dim, y.months.op("&")(mask) != 0]
            return where + ([y.school != ""] if self.measure.pupils_only else []) + ([y.school == self.school] if self.school else [])

        def shown(raw) -> str:
            return "" if breakdown == "none" else (UNKNOWN if raw in (None, "") else str(raw))

        found: dict[tuple[str, str], tuple[int, int]] = {}
        if (by_month or breakdown == "month") and dim != "age" and len(self.measure.kinds) == 1 and not self.school:  # the month's roll-up
            m = MonthPatrons
            stmt = select(m.month, m.value, m.patrons).where(m.month.in_(sorted(months)), m.kind.in_(self.measure.kinds), m.dim == dim,
                                                               m.pupils.is_(self.measure.pupils_only))
            for month, raw, n in self.session.execute(stmt):
                if n:
                    key = (month, shown(raw)) if by_month else ("", month)
                    found[key] = (int(n), int(n))
        elif by_month or breakdown == "month":  # the month's bit in the 年度's rows (by age band: a birthday is one borrower)
            for year, in_year in years.items():
                # a borrower of two schools in the year has two rows of a value: one (value, borrower) each, then summed
                seen = [func.max(case((y.months.op("&")(rollup.month_bit(m)) != 0, 1), else_=0)).label(f"m{n}") for n, m in enumerate(in_year)]
                mask = sum(rollup.month_bit(m) for m in in_year)
                each = (select(self._raw_value(y.value, dim).label("rv"), y.borrower_key, *seen).where(*rows_of(year, mask))
                        .group_by(literal_column("rv"), y.borrower_key).subquery())
                stmt = select(each.c.rv if dim != "none" else literal_column("''"), *[func.sum(each.c[f"m{n}"]) for n in range(len(in_year))])
                if dim != "none":
                    stmt = stmt.group_by(each.c.rv)
                for raw, *numbers in self.session.execute(stmt):
                    for month, n in zip(in_year, numbers, strict=True):
                        if n:
                            found[(month, shown(raw)) if by_month else ("", month)] = (int(n), int(n))
        if by_month or breakdown == "month":
            patrons = func.count(func.distinct(e.borrower_key))
            for start, end in gaps:
                found.update(self._grouped(e.occurred_on, self._event_dim(breakdown), patrons, patrons, conditions,
                                           Period(start, end, "", "custom"), by_month, e))
            return found
        parts = [select(y.value.label("v"), y.borrower_key.label("k")).where(*rows_of(year, sum(rollup.month_bit(m) for m in in_year)))
                 for year, in_year in years.items()]
        if gaps:
            days = or_(*[and_(e.occurred_on >= start, e.occurred_on <= end) for start, end in gaps])
            parts.append(select(rollup.DIMS[dim].label("v"), e.borrower_key.label("k")).where(days, *conditions))
        both = union_all(*parts).subquery()
        # one row per (value, borrower), then counted: a hashed GROUP BY, quicker than COUNT(DISTINCT) on PostgreSQL
        each = select(self._raw_value(both.c.v, dim).label("rv"), both.c.k).group_by(literal_column("rv"), both.c.k).subquery()
        stmt = select(each.c.rv if dim != "none" else literal_column("''"), func.count()).select_from(each)
        if dim != "none":
            stmt = stmt.group_by(each.c.rv)
        for raw, n in self.session.execute(stmt):
            if n:
                found[("", shown(raw))] = (int(n), int(n))
        return found

    def _raw_value(self, column, dim: str):
        """A rolled-up value as the report shows it: ages in the library's bands, the rest as they are."""
        if dim == "none":
            return literal_column("''")
        if dim == "age":
            return self._age_band(cast(func.nullif(column, ""), Integer))
        return column

    def _rolled(self, months: set[str], breakdown: str, by_month: bool) -> dict:
        m = MonthCount
        dim = "none" if breakdown in ("none", "month") else breakdown
        month = m.month if by_month else literal_column("''")
        value = m.month if breakdown == "month" else (m.value if breakdown != "none" else literal_column("''"))
        conditions = [m.month.in_(sorted(months)), m.kind.in_(self.measure.kinds), m.dim == dim]
        if self.measure.from_hold:
            conditions.append(m.from_hold.is_(True))
        grouping = [literal_column(name) for name, used in (("m", by_month), ("v", breakdown != "none")) if used]
        stmt = select(month.label("m"), value.label("v"), func.sum(m.events)).where(*conditions).group_by(*grouping)
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for mo, v, n in self.session.execute(stmt):
            key = (str(mo or ""), UNKNOWN if breakdown != "none" and v in (None, "") else str(v or ""))
            old = found.get(key, (0, 0))
            found[key] = (old[0] + int(n or 0), 0)
        return found

    def _age_band(self, column):
        whens = [(and_(column >= b.low, column <= b.high) if b.high is not None else column >= b.low, b.label) for b in self.settings.bands]
        return case(*whens, else_=literal(UNKNOWN))

    def _event_dim(self, breakdown: str):
        e = LendingEvent
        return {
            "none": None, "month": func.substr(cast(e.occurred_on, String), 1, 7), "category": e.category, "age": self._age_band(e.age),
            "school": e.school, "grade": e.grade, "ndc": func.substr(e.ndc, 1, 1), "ndc2": func.substr(e.ndc, 1, 2),
            "audience": e.audience, "license": e.license_model, "format": e.format, "hour": e.hour, "weekday": e.weekday,
            "channel": e.channel,
        }[breakdown]

    def _registration_dim(self, breakdown: str):
        r = RegistrationEvent
        return {"none": None, "month": func.substr(cast(r.occurred_on, String), 1, 7), "category": r.category,
                "age": self._age_band(r.age), "kind": r.kind}[breakdown]

    def _title_dim(self, breakdown: str):
        ndc = func.substr(func.coalesce(Title.ndc, ""), 1, 1)
        return {"none": None, "month": func.substr(cast(TitleViewDay.day, String), 1, 7), "ndc": ndc,
                "ndc2": func.substr(func.coalesce(Title.ndc, ""), 1, 2), "audience": cast(Title.audience, String),
                "format": cast(Title.format, String)}[breakdown]


def _gaps(period: Period, months: set[str]) -> list[tuple[date, date]]:
    """The day ranges of ``period`` outside the rolled-up ``months``."""
    from datetime import timedelta

    from elibrary.stats.periods import month_end

    gaps: list[tuple[date, date]] = []
    day = period.start
    while day <= period.end:
        last = min(month_end(day), period.end)
        if f"{day.year:04d}-{day.month:02d}" not in months:
            if gaps and gaps[-1][1] + timedelta(days=1) == day:
                gaps[-1] = (gaps[-1][0], last)
            else:
                gaps.append((day, last))
        day = last + timedelta(days=1)
    return gaps


def direct_count(session: Session, kinds: tuple[str, ...], start: date, end: date) -> int:
    """Events of ``kinds`` between two days, counted plainly (for checks and the tests)."""
    return session.scalar(select(func.count()).select_from(LendingEvent)
                          .where(LendingEvent.kind.in_(kinds), LendingEvent.occurred_on >= start, LendingEvent.occurred_on <= end)) or 0
