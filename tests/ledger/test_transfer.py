"""`promoter ledger export` / `import`: history moves between SQLite and PostgreSQL, both ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promoter.cli import cli
from promoter.errors import PromoterError
from promoter.ledger import HISTORY_COLUMNS, Ledger, open_ledger

from .conftest import Backend, Runners


def promoter(runners: Runners, *args: str, code: int = 0) -> str:
    """``promoter ARGS`` in this process: its standard output, or its error's message.

    The ledger is always named with --ledger. Errors are checked as ``promoter.cli.main`` maps
    them to exit codes.
    """
    env = runners.env()
    env.pop("PROMOTER_LEDGER")
    result = CliRunner().invoke(cli, list(args), env=env)
    if isinstance(result.exception, PromoterError):
        assert int(result.exception.exit_code) == code, result.exception
        return str(result.exception)
    assert result.exit_code == code, (result, result.exception)
    return result.stdout


def rows(path: Path) -> list[dict[str, Any]]:
    """An export's rows (the header, with its time stamp, left out)."""
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def views(runners: Runners, ledger: str, run_ids: list[str]) -> list[Any]:
    """What users see of the history: `history` and `show` of every run, as JSON."""
    seen = [json.loads(promoter(runners, "history", "--ledger", ledger, "--output", "json"))]
    for run_id in run_ids:
        shown = promoter(runners, "show", run_id, "--ledger", ledger, "--output", "json")
        seen.append(json.loads(shown))
    return seen


@pytest.fixture
def sqlite_history(runners: Runners) -> tuple[str, list[str]]:
    """A SQLite ledger with a plan, a promotion and its rollback (and their lock events)."""
    ledger = str(runners.root / "laptop.db")
    pipeline = str(runners.pipeline())
    promoter(runners, "plan", pipeline, "--ledger", ledger)
    promoted = promoter(
        runners, "promote", pipeline, "--yes", "--ledger", ledger, "--output", "json"
    )
    run_id = json.loads(promoted)["run_id"]
    promoter(runners, "rollback", run_id, "--reason", "undo", "--yes", "--ledger", ledger)
    history = json.loads(promoter(runners, "history", "--ledger", ledger, "--output", "json"))
    return ledger, [h["id"] for h in history]


def test_history_moves_from_sqlite_to_postgres_and_back(
    runners: Runners, sqlite_history: tuple[str, list[str]]
) -> None:
    laptop, run_ids = sqlite_history
    team = runners.ledger_url
    exported = runners.root / "laptop.jsonl"
    done = promoter(runners, "ledger", "export", str(exported), "--ledger", laptop)
    assert "exported 2 run(s)" in done
    imported = promoter(runners, "ledger", "import", str(exported), "--ledger", team)
    assert "imported 2 run(s)" in imported

    # Every runner of the team now sees the laptop's history exactly as the laptop did.
    assert views(runners, team, run_ids) == views(runners, laptop, run_ids)
    # and the export of the team's ledger has the same rows
    again = runners.root / "team.jsonl"
    promoter(runners, "ledger", "export", str(again), "--ledger", team)
    assert rows(again) == rows(exported)
    tables = {row["table"] for row in rows(again)}
    assert tables == {
        "releases",
        "runs",
        "run_releases",
        "run_status",
        "stage_events",
        "documents",
        "progress",
        "lock_events",
    }
    # Releases travel with their runs: each run still names its release, with its versions.
    team_ledger = open_ledger(team)
    try:
        for run_id in run_ids:
            record = team_ledger.get_run(run_id)
            assert record.release is not None and record.digest is not None
            assert team_ledger.release(record.release).digest == record.digest
            assert [r.id for r in team_ledger.runs_of_release(release=record.release)]
    finally:
        team_ledger.close()

    # Back to a new SQLite file: the same again.
    elsewhere = str(runners.root / "elsewhere.db")
    promoter(runners, "ledger", "import", str(again), "--ledger", elsewhere)
    assert views(runners, elsewhere, run_ids) == views(runners, laptop, run_ids)

    # Importing twice adds nothing: runs already there are skipped.
    twice = promoter(
        runners, "ledger", "import", str(exported), "--ledger", team, "--output", "json"
    )
    assert json.loads(twice)["imported"] == {}
    assert views(runners, team, run_ids) == views(runners, laptop, run_ids)


def test_import_is_all_or_nothing_and_names_the_bad_line(
    runners: Runners, sqlite_history: tuple[str, list[str]]
) -> None:
    laptop, _ = sqlite_history
    exported = runners.root / "laptop.jsonl"
    promoter(runners, "ledger", "export", str(exported), "--ledger", laptop)
    lines = exported.read_text().splitlines()
    broken = runners.root / "broken.jsonl"
    broken.write_text("\n".join([*lines[:5], '{"table": "runs"}', *lines[5:]]) + "\n")
    failed = promoter(
        runners, "ledger", "import", str(broken), "--ledger", runners.ledger_url, code=2
    )
    assert "broken.jsonl:6: unknown table 'runs' or missing row" in failed
    history = promoter(runners, "history", "--ledger", runners.ledger_url, "--output", "json")
    assert json.loads(history) == []

    not_an_export = runners.root / "other.jsonl"
    not_an_export.write_text('{"hello": 1}\n')
    refused = promoter(
        runners, "ledger", "import", str(not_an_export), "--ledger", runners.ledger_url, code=2
    )
    assert "not a promoter ledger export" in refused


def test_migrate_reports_the_schema(runners: Runners, postgres_url: str) -> None:
    first = promoter(runners, "ledger", "migrate", "--ledger", postgres_url, "--output", "json")
    document = json.loads(first)
    assert document["backend"] == "postgresql" and document["version"] == 5
    assert [m["version"] for m in document["applied"]] == [1, 2, 3, 4, 5]
    again = promoter(runners, "ledger", "migrate", "--ledger", postgres_url)
    assert "the ledger is up to date (schema version 5)" in again
    sqlite = promoter(runners, "ledger", "migrate", "--ledger", str(runners.root / "l.db"))
    assert "up to date (schema version 2); nothing to migrate" in sqlite


def test_lock_events_with_one_time_stamp_are_all_kept(backend: Backend, ledger: Ledger) -> None:
    """Time stamps have a resolution of one second: identical-looking events are not duplicates."""
    run = {c: "x" for c in HISTORY_COLUMNS["runs"]} | {"id": "r1", "pid": 1, "dry_run": False}
    event = {"at": "2026-11-29T00:00:00+00:00", "target": "test/F", "event": "released"}
    event |= {"run_id": "r1", "owner": "a", "host": "h", "pid": 1, "detail": ""}
    ghost = event | {"run_id": "ghost", "event": "forced"}
    rows = [("runs", run), ("lock_events", event), ("lock_events", event)]
    rows += [("lock_events", ghost), ("lock_events", ghost)]
    assert ledger.append_history(rows) == {"runs": 1, "lock_events": 4}
    assert ledger.append_history(rows) == {}  # a second import adds nothing
    assert ledger.append_history([*rows, ("lock_events", ghost)]) == {"lock_events": 1}
    assert [e["event"] for e in ledger.lock_events("test/F")] == ["released"] * 2 + ["forced"] * 3
