"""``promoter ledger``: migrate the ledger's schema, export and import its history.

``export`` writes the history as JSON lines: a header line, then one ``{"table": ..., "row": ...}``
line per row, tables in dependency order (runs first) and rows oldest first, with the columns
every backend keeps (:data:`promoter.ledger.HISTORY_COLUMNS`). ``import`` appends such a file to
any ledger, SQLite or PostgreSQL, in one transaction; runs already there are skipped with their
rows, so moving a laptop's history into the team's ledger twice does no harm. Current locks are
not history and are not moved.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from promoter.cli.options import ledger_option, output_option

if TYPE_CHECKING:
    from promoter.ledger import Ledger

EXPORT_FORMAT = "promoter-ledger-history"
EXPORT_VERSION = 1


def export_history(ledger: Ledger, out: IO[str]) -> dict[str, int]:
    """Write the ledger's history as JSON lines to ``out``; rows written per table."""
    from promoter.ledger import HISTORY_COLUMNS

    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": list(HISTORY_COLUMNS),
    }
    out.write(json.dumps(header) + "\n")
    counts: dict[str, int] = {}
    for table in HISTORY_COLUMNS:
        counts[table] = 0
        for row in ledger.history_rows(table):
            out.write(json.dumps({"table": table, "row": row}, sort_keys=True) + "\n")
            counts[table] += 1
    return counts


def read_history(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(table, row)`` pairs of an export file, checked line by line."""
    from promoter.errors import LedgerError
    from promoter.ledger import HISTORY_COLUMNS, OPTIONAL_HISTORY_COLUMNS

    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LedgerError(
                    f"{path}:{number}: not JSON ({exc.msg})",
                    hint="import a file written by `promoter ledger export`",
                ) from None
            if number == 1:
                if item.get("format") != EXPORT_FORMAT or item.get("version") != EXPORT_VERSION:
                    raise LedgerError(
                        f"{path}:1: not a promoter ledger export (format {EXPORT_FORMAT!r}, "
                        f"version {EXPORT_VERSION} expected)",
                        hint="import a file written by `promoter ledger export`",
                    )
                continue
            table, row = item.get("table"), item.get("row")
            if table not in HISTORY_COLUMNS or not isinstance(row, dict):
                raise LedgerError(f"{path}:{number}: unknown table {table!r} or missing row")
            optional = OPTIONAL_HISTORY_COLUMNS.get(table, frozenset())
            missing = [c for c in HISTORY_COLUMNS[table] if c not in row and c not in optional]
            if missing:
                raise LedgerError(f"{path}:{number}: {table} row lacks {', '.join(missing)}")
            yield table, row


@click.group(short_help="Migrate, export and import the ledger.")
def ledger() -> None:
    """The run ledger: schema migrations (PostgreSQL), export and import of its history."""


@ledger.command(short_help="Create or upgrade the ledger's schema.")
@ledger_option
@output_option
def migrate(ledger_location: str | None, output: str) -> None:
    """Apply the schema migrations the ledger lacks.

    Promoter also migrates when it opens a ledger (a SQLite file always, in place); run this
    explicitly when the runners' database role may not change a PostgreSQL schema.
    """
    from promoter.ledger import (
        LEDGER_ENV,
        SQLITE_MIGRATIONS,
        SQLiteLedger,
        is_postgres,
        ledger_path,
    )

    if not is_postgres(ledger_location):
        store = SQLiteLedger(ledger_path(ledger_location))
        try:
            applied_versions, version = store.applied_migrations, store.schema_version()
        finally:
            store.close()
        names = {number: what for number, what, _ in SQLITE_MIGRATIONS}
        document: dict[str, Any] = {
            "backend": "sqlite",
            "applied": [{"version": v, "name": names[v]} for v in applied_versions],
            "version": version,
        }
        message = (
            "\n".join(f"applied {v}: {names[v]}" for v in applied_versions)
            + f"\nthe SQLite ledger is at schema version {version}"
            if applied_versions
            else f"SQLite ledger: up to date (schema version {version}); nothing to migrate"
        )
    else:
        from promoter.ledger.postgres import PostgresLedger

        pg = PostgresLedger(ledger_location or os.environ[LEDGER_ENV])
        try:
            applied = pg.applied_migrations
            version = pg.schema_version()
            history = pg.migrations()
        finally:
            pg.close()
        document = {
            "backend": "postgresql",
            "applied": [{"version": m.version, "name": m.name} for m in applied],
            "version": version,
            "migrations": history,
        }
        if applied:
            message = "\n".join(f"applied {m.version}: {m.name}" for m in applied)
            message += f"\nthe ledger is at schema version {version}"
        else:
            message = f"the ledger is up to date (schema version {version})"
    if output == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(message)


@ledger.command("export", short_help="Write the ledger's history to a JSON-lines file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@ledger_option
@output_option
def export_command(file: Path, ledger_location: str | None, output: str) -> None:
    """Write every run, status, stage event, document, progress and lock event to FILE.

    FILE is JSON lines; `-` writes to standard output. `promoter ledger import FILE` appends it
    to another ledger (SQLite or PostgreSQL).
    """
    from promoter.ledger import open_ledger

    store = open_ledger(ledger_location)
    try:
        if str(file) == "-":
            counts = export_history(store, sys.stdout)
        else:
            tmp = file.with_name(file.name + ".part")
            with tmp.open("w", encoding="utf-8") as out:
                counts = export_history(store, out)
            tmp.replace(file)
    finally:
        store.close()
    _report("exported", counts, file, output)


@ledger.command("import", short_help="Append a history file to the ledger.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ledger_option
@output_option
def import_command(file: Path, ledger_location: str | None, output: str) -> None:
    """Append the history in FILE (written by `promoter ledger export`) to the ledger.

    All or nothing, in one transaction. Runs the ledger already has are skipped with their rows.
    """
    from promoter.ledger import open_ledger

    rows = list(read_history(file))
    store = open_ledger(ledger_location)
    try:
        counts = store.append_history(rows)
    finally:
        store.close()
    _report("imported", counts, file, output)


def _report(verb: str, counts: dict[str, int], file: Path, output: str) -> None:
    if output == "json":
        click.echo(json.dumps({verb: counts, "file": str(file)}, indent=2))
        return
    runs = counts.get("runs", 0)
    rows = sum(counts.values())
    where = "standard output" if str(file) == "-" else str(file)
    preposition = "to" if verb == "exported" else "from"
    click.echo(f"{verb} {runs} run(s), {rows} row(s) {preposition} {where}", err=str(file) == "-")
