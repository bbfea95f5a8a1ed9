"""The request budgets a team ledger shares between runners (``budget_scope: shared``): one
sliding window per key and family, kept in PostgreSQL (migration 5), that several processes draw
from without ever handing out more than the budget in any window."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import psycopg
import pytest

from promoter.errors import LedgerError
from promoter.ledger import open_ledger
from promoter.ledger.postgres import PostgresLedger
from promoter.ledger.postgres.budget import PostgresBudgets


def test_the_sqlite_ledger_keeps_no_shared_budgets(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        assert ledger.shared_budgets() is None
    finally:
        ledger.close()


def test_a_window_hands_out_the_budget_then_slots_a_period_later(postgres_url: str) -> None:
    ledger = PostgresLedger(postgres_url)
    try:
        budgets = ledger.shared_budgets()
        assert budgets is ledger.shared_budgets()  # one per ledger object
        assert budgets.reserve("api", "orchestration", budget=3, period=2.0, count=2) == [0.0, 0.0]
        assert budgets.reserve("api", "orchestration", budget=3, period=2.0) == [0.0]
        later = budgets.reserve("api", "orchestration", budget=3, period=2.0, count=3)
        # a period and its margin (a hundredth) after the slots they replace
        assert all(2.0 <= wait <= 2.0 + 0.02 + 0.5 for wait in later), later
        assert later == sorted(later)
        # Other keys and families have windows of their own.
        assert budgets.reserve("other", "orchestration", budget=3, period=2.0) == [0.0]
        assert budgets.reserve("api", "processing", budget=3, period=2.0) == [0.0]
        with pytest.raises(ValueError):
            budgets.reserve("api", "processing", budget=3, period=2.0, count=4)
    finally:
        ledger.close()


def test_old_slots_leave_the_table(postgres_url: str) -> None:
    ledger = PostgresLedger(postgres_url)
    try:
        budgets = ledger.shared_budgets()
        budgets.reserve("api", "monitoring", budget=10, period=0.2, count=10)
        time.sleep(0.3)
        assert budgets.reserve("api", "monitoring", budget=10, period=0.2) == [0.0]
        with psycopg.connect(postgres_url) as db:
            [(left,)] = db.execute("SELECT count(*) FROM budget_slots WHERE family = 'monitoring'").fetchall()
        assert left == 1
    finally:
        ledger.close()


def _draw(url: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    budgets = PostgresBudgets(url, shown_url="test")
    taken = []
    for _ in range(count):
        [wait] = budgets.reserve("nat", "orchestration", budget=20, period=1.0)
        time.sleep(wait)
        taken.append(time.time())
    budgets.close()
    queue.put(taken)


def test_runners_in_several_processes_never_exceed_the_budget_together(postgres_url: str) -> None:
    PostgresLedger(postgres_url).close()  # migrated
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    runners = [context.Process(target=_draw, args=(postgres_url, 25, queue)) for _ in range(3)]
    for runner in runners:
        runner.start()
    sent = sorted(t for _ in runners for t in queue.get(timeout=60))
    for runner in runners:
        runner.join(timeout=10)
    assert len(sent) == 75
    # In any second, at most 20 requests (plus a little for the time between slot and send).
    for i, start in enumerate(sent):
        within = [t for t in sent[i:] if t < start + 1.0 - 0.02]
        assert len(within) <= 20, (start, len(within))
    # ...and not wasteful: 75 requests at 20 a second need 3 more windows after the first.
    assert 3.0 <= sent[-1] - sent[0] < 3.0 + 1.5


def test_an_unreachable_ledger_fails_the_reservation_with_a_hint() -> None:
    budgets = PostgresBudgets("postgresql://nobody@127.0.0.1:1/none", shown_url="pg://x", connect_timeout=1)
    with pytest.raises(LedgerError, match="shared budget") as caught:
        budgets.reserve("api", "orchestration", budget=10, period=60.0)
    assert caught.value.hint
