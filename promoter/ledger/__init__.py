"""The run ledger: every run, its stage events, documents, progress and outcome; target locks.

- :mod:`promoter.ledger.base` — the interface and its rules, once (ids, dead runs, fencing,
  releases, the lease heartbeat);
- :mod:`promoter.ledger.history` — the append-only tables as rows (``ledger export``/``import``);
- :mod:`promoter.ledger.sqlite` — the embedded default (``.promoter/ledger.db``);
- :mod:`promoter.ledger.postgres` — the shared ledger of team mode (``postgresql://...``).

:func:`open_ledger` chooses by the location.
"""

from __future__ import annotations

import os
from pathlib import Path

from promoter.errors import LedgerError
from promoter.ledger.base import (
    DEFAULT_LEDGER,
    HOSTNAME,
    LEDGER_ENV,
    POSTGRES_SCHEMES,
    LeaseLost,
    Ledger,
    LockHeartbeat,
    LockInfo,
    ReleaseExists,
    RunRecord,
    pid_alive,
    run_record,
)
from promoter.ledger.history import (
    HISTORY_COLUMNS,
    HISTORY_TABLES,
    OPTIONAL_HISTORY_COLUMNS,
    rows_to_import,
)
from promoter.ledger.sqlite import SQLiteLedger
from promoter.ledger.sqlite.schema import SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION

__all__ = [
    "DEFAULT_LEDGER",
    "HISTORY_COLUMNS",
    "HISTORY_TABLES",
    "HOSTNAME",
    "LEDGER_ENV",
    "OPTIONAL_HISTORY_COLUMNS",
    "SQLITE_MIGRATIONS",
    "SQLITE_SCHEMA_VERSION",
    "LeaseLost",
    "Ledger",
    "LockHeartbeat",
    "LockInfo",
    "ReleaseExists",
    "RunRecord",
    "SQLiteLedger",
    "is_postgres",
    "ledger_path",
    "open_ledger",
    "pid_alive",
    "rows_to_import",
    "run_record",
]


def ledger_path(location: str | None = None, *, cwd: Path | None = None) -> Path:
    """The SQLite file for ``location`` (default: ``PROMOTER_LEDGER``, then ``.promoter/ledger.db``)."""
    location = location or os.environ.get(LEDGER_ENV) or None
    base = cwd or Path.cwd()
    if location is None:
        return base / DEFAULT_LEDGER
    if "://" in location:
        scheme, _, rest = location.partition("://")
        if scheme != "sqlite" or not rest.startswith("/"):
            raise LedgerError(
                f"unsupported ledger location {location!r}",
                hint="use a file path, sqlite:///path (relative), sqlite:////abs/path or "
                "postgresql://user:password@host:port/database",
            )
        location = rest[1:]
    path = Path(location).expanduser()
    return path if path.is_absolute() else base / path


def is_postgres(location: str | None) -> bool:
    """Whether ``location`` (default: ``PROMOTER_LEDGER``) names a PostgreSQL ledger."""
    location = location or os.environ.get(LEDGER_ENV) or ""
    return location.partition("://")[0].lower() in POSTGRES_SCHEMES and "://" in location


def open_ledger(location: str | None = None, *, cwd: Path | None = None) -> Ledger:
    """Open the ledger at ``location`` (default: ``PROMOTER_LEDGER``, then ``.promoter/ledger.db``).

    ``postgresql://`` (or ``postgres://``) URLs open the shared PostgreSQL ledger, migrating its
    schema if needed; anything else is a SQLite file (see :func:`ledger_path`), created if needed.
    """
    location = location or os.environ.get(LEDGER_ENV) or None
    if location is not None and is_postgres(location):
        from promoter.ledger.postgres import PostgresLedger

        return PostgresLedger(location)
    from promoter.ledger.sqlite import SQLiteLedger

    return SQLiteLedger(ledger_path(location, cwd=cwd))
