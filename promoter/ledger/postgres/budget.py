"""Request budgets shared by every runner of a team ledger: one sliding window per address.

Talend Cloud counts its per-minute budgets per source address. CI runners behind one NAT address
therefore share one budget, and each client's own limiter, believing it has the whole budget,
would overdraw it (429s, blind back-off). With ``talend: budget_scope: shared`` (or
``PROMOTER_TALEND_BUDGET_SCOPE=shared``) every runner takes its request slots from one window
kept in the ledger they share.

The window is the client's :class:`~promoter.talend.ratelimit.SlidingWindow`, kept in the table
``budget_slots`` (migration 5) and handed out by the function ``promoter_reserve_slots``: under
a transaction-scoped advisory lock per (key, family), it drops slots older than the window, reads
the slots a budget's length before the new ones and returns when each new slot may be used —
at once while the window has room, else a period (plus a hundredth of it, the margin for
arrival jitter) after the slot it replaces. One round trip per reservation; times are the
database's clock, and a runner only ever uses *durations* ("in 12.3 s"), so runners' clocks
need not agree.

A reservation that cannot reach the database is tried once more on a new connection; then the
Talend call fails with a :class:`~promoter.errors.LedgerError` (a runner that went on alone
would overdraw the budget the others count on).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg

from promoter.errors import LedgerError
from promoter.ledger.base import HOSTNAME, LEDGER_ENV

#: The window's margin, as a share of its period (as :class:`SlidingWindow`'s default).
MARGIN_SHARE = 0.01


class PostgresBudgets:
    """The :class:`~promoter.context.SharedBudgets` of a PostgreSQL ledger.

    Thread-safe; one connection of its own (opened at the first reservation, closed with
    :meth:`close` or when the object is collected), so that reservations never wait behind the
    ledger's writes.
    """

    def __init__(self, url: str, *, shown_url: str, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._shown = shown_url
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._db: psycopg.Connection[tuple[Any, ...]] | None = None
        self._finalizer: Callable[[], object] | None = None

    def reserve(
        self, key: str, family: str, *, budget: int, period: float, count: int = 1
    ) -> list[float]:
        """Take ``count`` slots of ``family``'s budget under ``key``; the seconds from now until
        each may be used."""
        if count < 1 or budget < 1 or count > budget:
            raise ValueError(f"cannot reserve {count} of a budget of {budget}")
        arguments = (key, family, int(budget), float(period), float(period) * MARGIN_SHARE, count)
        with self._lock:
            for attempt in (1, 2):
                try:
                    row = (
                        self._connection()
                        .execute(
                            "SELECT promoter_reserve_slots(%s, %s, %s, %s, %s, %s)", arguments
                        )
                        .fetchone()
                    )
                    break
                except psycopg.Error as exc:
                    self._drop()
                    if attempt == 2:
                        raise LedgerError(
                            f"cannot reserve {family} requests in the shared budget of the "
                            f"ledger {self._shown}: {str(exc).strip()}",
                            hint="check that the PostgreSQL server is reachable (and migrated: "
                            "`promoter ledger migrate`), or remove talend.budget_scope: shared",
                        ) from exc
        assert row is not None
        answer = [float(value) for value in row[0]]
        now = answer[0]
        return [max(0.0, slot - now) for slot in answer[1:]]

    def close(self) -> None:
        """Close the connection (a later reservation opens a new one)."""
        with self._lock:
            self._drop()

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._db is None or self._db.closed or self._db.broken:
            try:
                self._db = psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=max(1, round(self._connect_timeout)),
                    application_name=f"promoter budget {HOSTNAME}:{os.getpid()}",
                )
            except psycopg.Error as exc:
                raise LedgerError(
                    f"cannot connect to the ledger {self._shown} for the shared budget: "
                    f"{str(exc).strip()}",
                    hint=f"check {LEDGER_ENV} and that the server accepts connections",
                ) from exc
            self._finalizer = weakref.finalize(self, self._db.close)
        return self._db

    def _drop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._db = None

    def __repr__(self) -> str:
        return f"PostgresBudgets({self._shown})"
