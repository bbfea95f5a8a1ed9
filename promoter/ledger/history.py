"""The ledger's history as rows: which tables are append-only, the columns every backend keeps
(the format of ``promoter ledger export``), and which exported rows a ledger lacks on import.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from promoter.release import Release, ReleaseSummary

HISTORY_TABLES = (
    "releases",
    "runs",
    "run_releases",
    "run_status",
    "stage_events",
    "documents",
    "progress",
    "lock_events",
)
"""The append-only tables (every backend refuses to update or delete their rows)."""

HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "releases": (
        "id",
        "created_at",
        "pipeline_name",
        "source",
        "digest",
        "created_by",
        "versions",
        "hotfix",
        "body",
    ),
    "runs": (
        "id",
        "created_at",
        "user",
        "host",
        "pid",
        "command",
        "pipeline_name",
        "pipeline_file",
        "pipeline_sha256",
        "source",
        "target",
        "reason",
        "dry_run",
        "versions",
        "variables",
        "options",
    ),
    "run_releases": ("run_id", "at", "release_id"),
    "run_status": ("run_id", "at", "status", "exit_code", "message", "host", "pid"),
    "stage_events": ("run_id", "at", "stage", "event", "status", "plugin", "duration", "messages"),
    "documents": ("run_id", "at", "kind", "body"),
    "progress": ("run_id", "at", "stage", "kind", "key", "status", "message", "data"),
    "lock_events": ("at", "target", "event", "run_id", "owner", "host", "pid", "detail"),
}
"""The history tables in dependency order, with the columns every backend keeps (the export
format of `promoter ledger export`): sequence numbers are not exported, order is. A file written
before releases existed has no ``releases`` or ``run_releases`` rows."""

OPTIONAL_HISTORY_COLUMNS: dict[str, frozenset[str]] = {"progress": frozenset({"data"})}
"""Columns added after the export format's first version: a file written before them lacks them
(they import as ``NULL``)."""


def rows_to_import(
    rows: Iterable[tuple[str, dict[str, Any]]],
    existing_runs: set[str],
    existing_lock_events: Iterable[tuple[Any, ...]],
    existing_releases: Iterable[str] = (),
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The exported rows a ledger lacks: runs it has are skipped with all their rows, and
    releases it has (releases are immutable: the same id is the same release).

    A lock event goes with its run when the file has that run; one of a run the file lacks (a
    foreign or forced lock) is skipped only as many times as the ledger already has an
    identical event, since two events may share their second-resolution time stamp.
    """
    already = Counter(existing_lock_events)
    releases = set(existing_releases)
    imported: set[str] = set()
    skipped: set[str] = set()
    for table, row in rows:
        if table == "releases":
            if row["id"] in releases:
                continue
            releases.add(row["id"])
        elif table == "runs":
            if row["id"] in existing_runs or row["id"] in imported:
                skipped.add(row["id"])
                continue
            imported.add(row["id"])
        elif table != "lock_events":
            if row["run_id"] in skipped:
                continue
        elif row["run_id"] in skipped:
            continue
        elif row["run_id"] not in imported:
            key = (row["at"], row["target"], row["event"], row["run_id"], row["detail"])
            if already[key] > 0:
                already[key] -= 1
                continue
        yield table, row


def release_summary(row: Mapping[str, Any]) -> ReleaseSummary:
    """A :class:`ReleaseSummary` from a ``releases`` row (any backend)."""
    return ReleaseSummary(
        id=row["id"],
        digest=row["digest"],
        pipeline=row["pipeline_name"],
        source=row["source"],
        created_at=datetime.fromisoformat(row["created_at"]),
        created_by=row["created_by"],
        versions=json.loads(row["versions"]),
        hotfix=bool(row["hotfix"]),
    )


def release_row(release: Release) -> dict[str, Any]:
    """The ``releases`` row of a release (``hotfix`` as a bool; SQLite stores an int)."""
    return {
        "id": release.id,
        "created_at": release.created_at.isoformat(timespec="milliseconds"),
        "pipeline_name": release.pipeline,
        "source": release.source,
        "digest": release.digest,
        "created_by": release.created_by,
        "versions": json.dumps(release.versions, sort_keys=True),
        "hotfix": release.hotfix,
        "body": release.model_dump_json(),
    }
