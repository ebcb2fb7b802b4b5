"""Random borrow/return/hold/suspend/expire sequences against the lending invariants (Hypothesis)."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import Session

from elibrary.db import utcnow
from elibrary.errors import DomainError
from elibrary.lending import jobs, services
from elibrary.lending.availability import availability, available_map
from elibrary.lending.invariants import queue_positions, violations
from elibrary.lending.models import Hold, Loan
from elibrary.lending.policy import tokyo_today
from tests.lending.factories import make_patron, make_title

N_PATRONS = 6
N_TITLES = 3


def test_random_lending_sequences_keep_the_invariants(rt):
    class Lending(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.connection = rt.db.engine.connect()
            self.outer = self.connection.begin()
            # A plain session: no after-commit hooks (indexing) run on the savepoints below.
            self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
            self.now = utcnow()
            self.patrons = [make_patron(self.session) for _ in range(N_PATRONS)]
            self.titles = [make_title(self.session) for _ in range(N_TITLES)]
            terms = [("one-copy", {}), ("concurrent", {"copies": 2}), ("metered-loans", {"copies": 2, "loans": 4})]
            for title, (model, extra) in zip(self.titles, terms, strict=True):
                services.add_license(self.session, title.id, model, now=self.now, **extra)
            services.add_license(self.session, self.titles[0].id, "metered-time", copies=1, until=self.now + timedelta(days=20), now=self.now)

        def teardown(self):
            self.session.close()
            self.outer.rollback()
            self.connection.close()

        def attempt(self, action):
            """A refused action must leave no trace: run it in a savepoint and roll back on refusal."""
            savepoint = self.session.begin_nested()
            try:
                action()
            except DomainError:
                savepoint.rollback()
                return
            savepoint.commit()

        @rule(p=st.integers(0, N_PATRONS - 1), t=st.integers(0, N_TITLES - 1))
        def borrow(self, p, t):
            self.attempt(lambda: services.borrow(self.session, self.patrons[p], self.titles[t].id, now=self.now))

        @rule(p=st.integers(0, N_PATRONS - 1), t=st.integers(0, N_TITLES - 1))
        def place_hold(self, p, t):
            self.attempt(lambda: services.place_hold(self.session, self.patrons[p], self.titles[t].id, now=self.now))

        @rule(p=st.integers(0, N_PATRONS - 1), t=st.integers(0, N_TITLES - 1))
        def give_back(self, p, t):
            loan = services.active_loan(self.session, self.patrons[p].id, self.titles[t].id)
            if loan is not None:
                self.attempt(lambda: services.return_loan(self.session, self.patrons[p], loan.id, now=self.now))

        @rule(p=st.integers(0, N_PATRONS - 1), t=st.integers(0, N_TITLES - 1), action=st.sampled_from(["cancel", "suspend", "resume"]), days=st.integers(1, 5))
        def change_hold(self, p, t, action, days):
            hold = self.session.scalar(select(Hold).where(Hold.patron_id == self.patrons[p].id, Hold.title_id == self.titles[t].id))
            if hold is None:
                return
            if action == "cancel":
                self.attempt(lambda: services.cancel_hold(self.session, self.patrons[p], hold.id, now=self.now))
            elif action == "suspend":
                until = tokyo_today(self.now) + timedelta(days=days)
                self.attempt(lambda: services.suspend_hold(self.session, self.patrons[p], hold.id, until, now=self.now))
            else:
                self.attempt(lambda: services.resume_hold(self.session, self.patrons[p], hold.id, now=self.now))

        @rule(p=st.integers(0, N_PATRONS - 1), t=st.integers(0, N_TITLES - 1))
        def renew(self, p, t):
            loan = services.active_loan(self.session, self.patrons[p].id, self.titles[t].id)
            if loan is not None:
                self.attempt(lambda: services.renew(self.session, self.patrons[p], loan.id, now=self.now))

        @rule(hours=st.integers(1, 24 * 8))
        def time_passes(self, hours):
            """Time passes and the scheduled pass runs (loans expire, ready holds lapse, suspensions end)."""
            self.now += timedelta(hours=hours)
            report = jobs.PassReport()
            for title_id in sorted(jobs.titles_with_work(self.session, self.now)):
                jobs.process_title(self.session, title_id, self.now, None, report)
            assert not self.session.scalars(select(Loan).where(Loan.due_at <= self.now)).all()

        @invariant()
        def invariants_hold(self):
            self.session.flush()
            assert violations(self.session, self.now) == []
            for title in self.titles:
                positions = queue_positions(self.session, title.id)
                assert positions == list(range(1, len(positions) + 1))
            # the search's availability facet (one statement, run in each lending transaction) says what the title page says
            ids = [title.id for title in self.titles]
            shown = {title_id: fields["available"] for title_id, fields in available_map(self.session, ids, self.now).items()}
            assert shown == {title_id: availability(self.session, title_id, now=self.now).available for title_id in ids}

    run_state_machine_as_test(
        Lending,
        settings=settings(max_examples=20, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)),
    )
