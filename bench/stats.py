"""Statistics benchmark: five years of generated lending events, then every report's latency and the annual PDF.

    .venv/bin/python bench/stats.py [--years 5] [--events 300000] [--database-url URL] [--out DIR]

Generates ``--events`` de-identified events per 年度 (loans, returns, holds, renewals in realistic shares;
8,000 borrowers a year; ages, schools and grades; NDC, audience, licence model, channel, hour of day with an
evening peak) straight into ``lending_events`` of a fresh database (SQLite in ``--out``, or an empty
PostgreSQL database at ``--database-url``), then times each report of the newest 年度 (every measure × every
breakdown it offers, as a 年度, as a month, and as a custom range) twice, after the nightly roll-up of the finished months, and prints p50/p95 in ms, and
the annual PDF report.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from elibrary.db import Database  # noqa: E402
from elibrary.lending.models import LendingEvent  # noqa: E402
from elibrary.migrate import upgrade_database  # noqa: E402
from elibrary.stats import exports, rollup  # noqa: E402
from elibrary.stats.measures import MEASURES, SOURCE_BREAKDOWNS  # noqa: E402
from elibrary.stats.periods import custom_period, fiscal_period, month_period  # noqa: E402
from elibrary.stats.reports import ReportRequest, build_report  # noqa: E402

SEED = 20260401
KINDS = [("borrow", 45), ("return", 25), ("expire", 15), ("hold", 10), ("renew", 5)]
SCHOOLS = [f"S{n:03d}" for n in range(1, 21)]
NDC = ["913", "933", "726", "493", "210", "007", "159", "369", "596", "783", "480", "291"]
HOURS = [h for h in range(24) for _ in range(1 + (3 if 19 <= h <= 23 else 1 if 7 <= h <= 18 else 0))]


def generate(db: Database, first_year: int, years: int, per_year: int) -> int:
    """Insert ``per_year`` events for each 年度 from ``first_year``; returns how many."""
    rng = random.Random(SEED)
    kinds = [k for k, share in KINDS for _ in range(share)]
    total = 0
    for year in range(first_year, first_year + years):
        start = date(year, 4, 1).toordinal()
        days = date(year + 1, 4, 1).toordinal() - start
        borrowers = []
        for n in range(8000):
            pupil = rng.random() < 0.25
            age = rng.randint(6, 14) if pupil else min(95, max(0, int(rng.gauss(45, 18))))
            borrowers.append((f"{year}-{n:05d}", age if rng.random() > 0.05 else None, rng.choice(SCHOOLS) if pupil else "",
                              str(age - 5) if pupil else "", "student" if pupil else "citizen"))
        batch = []
        for _ in range(per_year):
            day = date.fromordinal(start + rng.randrange(days))
            key, age, school, grade, category = borrowers[min(int(rng.paretovariate(1.2)) - 1, 7999) if rng.random() < 0.5 else rng.randrange(8000)]
            batch.append({"occurred_on": day, "kind": rng.choice(kinds), "title_id": rng.randrange(1, 30000), "category": category, "age_band": "",
                          "school": school, "loan_hours": None, "age": age, "grade": grade, "license_id": None,
                          "license_model": rng.choice(["one-copy", "concurrent", "metered-loans", "metered-time", "open"]),
                          "channel": rng.choice(["web", "web", "web", "opds", "line"]), "borrower_key": key, "hour": rng.choice(HOURS),
                          "weekday": day.weekday(), "from_hold": rng.random() < 0.1, "ndc": rng.choice(NDC),
                          "audience": "children" if school else rng.choice(["general", "general", "ya"]), "format": "epub"})
            if len(batch) == 20000:
                with db.scope() as session:
                    session.execute(insert(LendingEvent.__table__), batch)
                total += len(batch)
                batch = []
        if batch:
            with db.scope() as session:
                session.execute(insert(LendingEvent.__table__), batch)
            total += len(batch)
        print(f"  {year}: {total:,} events so far", flush=True)
    return total


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep the events already in the database (time the reports again)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="elibrary-bench-stats-"))
    out.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{out / 'stats.db'}"
    db = Database(url)
    upgrade_database(db.engine)
    newest = 2026
    started = time.perf_counter()
    if not args.reuse:
        count = generate(db, newest - args.years + 1, args.years, args.events)
        print(f"generated {count:,} events in {time.perf_counter() - started:.0f} s ({db.engine.dialect.name})")
    if not args.reuse:
        with db.scope() as session:  # fresh planner statistics, as a nightly ANALYZE would give
            session.connection().exec_driver_sql("ANALYZE")
    t0 = time.perf_counter()
    with db.scope() as session:  # what the nightly stats-rollup job has done by the time anyone asks
        months = rollup.roll_up(session, date(newest + 1, 3, 10))
    print(f"roll-up of {len(months)} months: {time.perf_counter() - t0:.0f} s")
    periods = [fiscal_period(newest), month_period(newest + 1, 1), custom_period(date(newest, 10, 15), date(newest + 1, 2, 20))]
    timings: dict[str, list[float]] = {}
    slowest: dict[str, float] = {}
    with db.scope(write=False) as session:
        for name, measure in MEASURES.items():
            for breakdown in SOURCE_BREAKDOWNS[measure.source]:
                for period in periods:
                    for _ in range(2):
                        t0 = time.perf_counter()
                        build_report(session, ReportRequest(name, breakdown, period))
                        elapsed = (time.perf_counter() - t0) * 1000
                        timings.setdefault(period.kind, []).append(elapsed)
                        label = f"{name} by {breakdown} ({period.kind})"
                        slowest[label] = max(slowest.get(label, 0.0), elapsed)
        every = [v for values in timings.values() for v in values]
        for kind, values in timings.items():
            print(f"reports, {kind:6}: n={len(values)} p50 {statistics.median(values):.0f} ms, p95 {percentile(values, 0.95):.0f} ms, "
                  f"max {max(values):.0f} ms")
        print(f"reports, all   : n={len(every)} p50 {statistics.median(every):.0f} ms, p95 {percentile(every, 0.95):.0f} ms")
        print("slowest: " + "; ".join(f"{label} {ms:.0f} ms" for label, ms in sorted(slowest.items(), key=lambda item: -item[1])[:8]))
        school = [build_report(session, ReportRequest("loans", "grade", fiscal_period(newest), SCHOOLS[0])) for _ in range(1)]
        assert school[0].total.total.value > 0
        t0 = time.perf_counter()
        pdf = exports.report_pdf(session, fiscal_period(newest))
        print(f"annual PDF: {time.perf_counter() - t0:.1f} s, {len(pdf):,} bytes")
        t0 = time.perf_counter()
        exports.to_xlsx(exports.year_sheets(session, newest, ["month", "category", "age", "school", "grade", "ndc", "audience", "license",
                                                               "format", "hour"]))
        print(f"annual xlsx (10 breakdowns): {time.perf_counter() - t0:.1f} s")
    db.dispose()


if __name__ == "__main__":
    main()
