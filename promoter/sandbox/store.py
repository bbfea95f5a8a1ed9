"""The sandbox's state: a small document store on SQLite.

Every Talend object is one row: its kind, its id, a few indexed columns used for filtering
(name, workspace, environment, parent) and its body as JSON, in the wire format's field names.
Keys starting with ``_`` are sandbox-only data (an artifact version's scripted behaviour, for
example) and are never served.

One connection, guarded by a re-entrant lock, serialises every access: the server answers
requests from a thread pool, and SQLite's own locking is not needed between threads of one
process. A file keeps the state across restarts; ``:memory:`` keeps it for one process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind           TEXT NOT NULL,
    id             TEXT NOT NULL,
    name           TEXT,
    workspace_id   TEXT,
    environment_id TEXT,
    parent_id      TEXT,
    seq            INTEGER NOT NULL,
    data           TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_by_workspace ON objects (kind, workspace_id);
CREATE INDEX IF NOT EXISTS objects_by_name ON objects (kind, name);
CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (kind, parent_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """A thread-safe document store of the sandbox's objects, on one SQLite database."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group several operations atomically; nested uses join the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    # ------------------------------------------------------------------ objects

    def put(
        self,
        kind: str,
        id: str,
        data: Row,
        *,
        name: str | None = None,
        workspace_id: str | None = None,
        environment_id: str | None = None,
        parent_id: str | None = None,
    ) -> Row:
        """Insert or replace an object; its position in listings is kept on replace."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM objects WHERE kind = ? AND id = ?", (kind, id)
            ).fetchone()
            seq = row[0] if row else self._next_seq()
            self._db.execute(
                "INSERT OR REPLACE INTO objects "
                "(kind, id, name, workspace_id, environment_id, parent_id, seq, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, id, name, workspace_id, environment_id, parent_id, seq, json.dumps(data)),
            )
        return data

    def get(self, kind: str, id: str) -> Row | None:
        """One object's body, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM objects WHERE kind = ? AND id = ?", (kind, id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, kind: str, id: str) -> bool:
        """Delete an object; whether it existed."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, id))
        return cursor.rowcount > 0

    def find(
        self,
        kind: str,
        *,
        name: str | None = None,
        workspace_id: str | None = None,
        environment_id: str | None = None,
        parent_id: str | None = None,
    ) -> list[Row]:
        """Objects of a kind matching every given column, in creation order."""
        clauses = ["kind = ?"]
        args: list[Any] = [kind]
        for column, value in (
            ("name", name),
            ("workspace_id", workspace_id),
            ("environment_id", environment_id),
            ("parent_id", parent_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT data FROM objects WHERE {' AND '.join(clauses)} ORDER BY seq"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, kind: str) -> int:
        """How many objects of a kind exist."""
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM objects WHERE kind = ?", (kind,)).fetchone()[0]
            )

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        """A sandbox setting or marker kept with the state."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a sandbox setting or marker kept with the state."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _next_seq(self) -> int:
        value = int(self.get_meta("seq") or "0") + 1
        self.set_meta("seq", str(value))
        return value
