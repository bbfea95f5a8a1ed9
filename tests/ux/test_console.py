"""The console: a plan table with field diffs and masked secrets, progress, a summary; rich in a
terminal, and no escape codes at all without one or with NO_COLOR."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from promoter.builtins.console import (
    make_console,
    outcome_line,
    plain_plan_table,
    plan_table,
    print_evidence,
    wants_plain,
)
from promoter.model import (
    Change,
    ChangeAction,
    CheckResult,
    FieldChange,
    Plan,
    RunOutcome,
    RunStatus,
    TargetRef,
)
from promoter.sandbox import Sandbox
from promoter.talend.models import LogEntry
from promoter.talend.plugin.evidence import MAX_LINE_LENGTH, error_lines, format_entry, logs_command

from .conftest import PASSWORD, REPO, PromotedRuns, cli_env

ESCAPE = re.compile(r"\x1b")
FINGERPRINT_A = "secret:sha256:0123456789abcdef"
FINGERPRINT_B = "secret:sha256:fedcba9876543210"


def sample_plan() -> Plan:
    return Plan(
        target=TargetRef(environment="prod", workspace="Finance"),
        changes=[
            Change(kind="artifact_version", key="load@2.0", action=ChangeAction.CREATE),
            Change(
                kind="task",
                key="Daily load",
                action=ChangeAction.UPDATE,
                fields=[
                    FieldChange(path="artifact.version", before="1.0", after="2.0"),
                    FieldChange(
                        path="parameters.DB_PASSWORD", before=FINGERPRINT_A, after=FINGERPRINT_B
                    ),
                ],
            ),
            Change(kind="connection", key="warehouse", action=ChangeAction.UNCHANGED),
        ],
    )


def render(plain: bool) -> str:
    buffer = io.StringIO()
    console = make_console(buffer, plain=plain)
    console.print(plan_table(sample_plan(), plain=plain))
    return buffer.getvalue()


def test_plan_table_shows_field_diffs_and_masks_secrets() -> None:
    text = render(plain=True)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.count("|") >= 3}
    assert {"create", "update", "unchanged"} <= set(rows)
    assert "artifact.version: 1.0 -> 2.0" in text
    assert "parameters.DB_PASSWORD: (secret changed)" in text
    assert "secret:sha256" not in text and "0123456789abcdef" not in text
    assert not ESCAPE.search(text)


def test_the_plain_plan_table_is_drawn_without_rich_exactly_as_rich_draws_it() -> None:
    plan = sample_plan()
    plan.changes.append(
        Change(
            kind="task",
            key="[bold]Wide 表 name\x1b[8m",
            action=ChangeAction.CREATE,
            fields=[FieldChange(path="parameters.NOTE", before=None, after="[red]x[/red]")],
        )
    )
    plan.changes += [
        Change(kind="connection", key=f"c{i}", action=ChangeAction.UNCHANGED) for i in range(20)
    ]
    drawn = io.StringIO()
    make_console(drawn, plain=True).print(plan_table(plan, plain=True))
    written = io.StringIO()
    make_console(written, plain=True).out(plain_plan_table(plan), highlight=False)
    assert written.getvalue() == drawn.getvalue()
    assert "[bold]Wide 表 name\\x1b[8m" in written.getvalue()  # data stays data
    assert "| unchanged | 21 objects" in written.getvalue()


def test_plain_means_no_tty_or_no_color_or_dumb_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_plain(io.StringIO(), environ={})
    assert not wants_plain(Terminal(), environ={})
    assert wants_plain(Terminal(), environ={"NO_COLOR": "1"})
    assert wants_plain(Terminal(), environ={"NO_COLOR": ""})  # set at all: no colour
    assert wants_plain(Terminal(), environ={"TERM": "dumb"})
    assert not wants_plain(io.StringIO(), environ={"PROMOTER_CONSOLE": "rich"})
    assert wants_plain(Terminal(), environ={"PROMOTER_CONSOLE": "plain"})


def test_without_a_tty_the_output_is_plain(promoted_runs: PromotedRuns) -> None:
    result = promoted_runs.test  # `promoter promote ... --target test`, output captured: no TTY
    output = result.stdout + result.stderr
    assert not ESCAPE.search(output + promoted_runs.prod.stdout + promoted_runs.prod.stderr)
    err = result.stderr
    assert "Plan for test/Finance: 2 create, 2 update, 3 unchanged" in err
    assert "parameters.DB_PASSWORD: (secret changed)" in err
    # A line per finished object stands in for the progress bars.
    assert "apply    task:Finance daily load: done - updated" in err
    assert "verify   task:Finance ledger sync: done - execution_successful" in err
    # The closing summary: every stage with its duration, then the outcome.
    summary = err[err.index("Summary") :]
    for stage in ("export", "map", "plan", "gate", "snapshot", "apply", "verify", "report"):
        assert re.search(rf"\| {stage} +\| ok +\| +\d+\.\d\ds \|", summary), stage
    assert "promoted: promoted to test/Finance (exit 0)" in summary
    # What test runs now, with exact versions, before the outcome.
    assert (
        "target now: test/Finance runs finance_daily_load 0.3.0.20261031080000 "
        "(was 0.2.0.20260921080000)\n"
        "            test/Finance runs finance_ledger_sync 1.1.0.20261102080000 "
        "(was 1.0.0.20260906080000)\n"
        "promoted: promoted to test/Finance (exit 0)"
    ) in summary
    prod = promoted_runs.prod.stderr
    assert re.search(r"\| verify +\| failed \(1 check\(s\)\) +\|", prod)
    assert "rollback task:Finance ledger sync: done" in prod
    assert "rolled-back: verification failed" in prod
    assert PASSWORD not in output


def run_in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``args`` with a pseudo-terminal as stdin, stdout and stderr; exit code and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    process = subprocess.Popen(
        args, cwd=REPO, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("no_color", [True, False], ids=["NO_COLOR", "colour"])
def test_in_a_terminal_rich_unless_no_color(
    talend_sandbox: Sandbox, tmp_path: Path, no_color: bool
) -> None:
    env = cli_env(talend_sandbox, tmp_path, TERM="xterm-256color")
    if no_color:
        env["NO_COLOR"] = "1"
    command = [sys.executable, "-m", "promoter.cli", "promote", "pipelines/release.yaml"]
    reports = ["--report-dir", str(tmp_path / "reports")]
    code, output = run_in_terminal([*command, "--target", "test", "--yes", *reports], env)
    assert code == 0, output
    assert "promoted to test/Finance" in output and "(secret changed)" in output
    if no_color:
        assert not ESCAPE.search(output), repr(output[:400])
    else:
        # In a terminal: colours, and the live progress display (cursor control).
        assert "\x1b[" in output
        assert "\x1b[?25l" in output  # rich hides the cursor while the progress bars run
    assert PASSWORD not in output


# --- the closing lines: the outcome once, the evidence of a failed check ----------------------------


def outcome(status: RunStatus, message: str, code: int) -> RunOutcome:
    return RunOutcome(run_id="20261203-000000-abcdef", status=status, exit_code=code, message=message)


def test_the_closing_line_says_the_status_once() -> None:
    blocked = outcome(RunStatus.BLOCKED, "blocked: approval: target prod requires an approval", 4)
    assert outcome_line(blocked) == ("blocked", "approval: target prod requires an approval")
    incomplete = outcome(RunStatus.ROLLBACK_INCOMPLETE, "ROLLBACK INCOMPLETE: task 'x' differs", 3)
    assert outcome_line(incomplete) == ("ROLLBACK INCOMPLETE", "task 'x' differs")
    # A message that does not start with the status keeps it in front.
    rolled = outcome(RunStatus.ROLLED_BACK, "verification failed: smoke:x: ended execution_failed", 1)
    assert outcome_line(rolled) == ("rolled-back", rolled.message)
    promoted = outcome(RunStatus.PROMOTED, "promoted to test/Finance", 0)
    assert outcome_line(promoted) == ("promoted", "promoted to test/Finance")


def evidence_outcome(lines: list[str]) -> RunOutcome:
    failed = CheckResult(
        name="smoke:Finance ledger sync",
        passed=False,
        message="ended execution_failed",
        details={
            "executionId": "e-123",
            "logs": "promoter logs e-123",
            "errorLines": lines,
        },
    )
    passed = CheckResult(name="smoke:Finance daily load", passed=True, details={"executionId": "ok-1"})
    result = outcome(RunStatus.ROLLED_BACK, "verification failed", 1)
    result.checks = [passed, failed]
    return result


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "rich"])
def test_failure_evidence_is_shown_never_obeyed(plain: bool) -> None:
    hostile = "2026-12-03T02:00:00.000Z ERROR tDie: \x1b]0;pwned\x07 [bold red]not markup[/] \u202eevil"
    buffer = io.StringIO()
    print_evidence(make_console(buffer, plain=plain), evidence_outcome([hostile]))
    text = buffer.getvalue()
    assert "failed check smoke:Finance ledger sync: execution e-123" in text
    assert "\\x1b]0;pwned\\x07" in text and "\\u202eevil" in text
    assert "[bold red]not markup[/]" in text  # rich read it as text
    assert "\x07" not in text and "\u202e" not in text
    assert "promoter logs e-123" in text
    assert "ok-1" not in text  # a check that passed points at nothing
    if plain:
        assert not ESCAPE.search(text)
        assert text.splitlines() == [
            "failed check smoke:Finance ledger sync: execution e-123",
            "  2026-12-03T02:00:00.000Z ERROR tDie: \\x1b]0;pwned\\x07 [bold red]not markup[/] "
            "\\u202eevil",
            "  full log: promoter logs e-123",
        ]


def entry(seconds: int, severity: str, message: str) -> LogEntry:
    return LogEntry(severity=severity, log_timestamp=seconds * 1000, log_message=message)


def test_error_lines_are_the_last_errors_of_the_log_oldest_first() -> None:
    entries = [
        entry(3, "ERROR", "third"),
        entry(1, "INFO", "started"),
        entry(2, "ERROR", "second"),
        entry(4, "WARN", "slow"),
        entry(5, "FATAL", "fifth"),
        entry(0, "error", "first"),
    ]
    assert error_lines(entries, limit=3) == [
        "1970-01-01T00:00:02.000Z ERROR second",
        "1970-01-01T00:00:03.000Z ERROR third",
        "1970-01-01T00:00:05.000Z FATAL fifth",
    ]
    assert error_lines(entries, limit=0) == []
    assert error_lines([entry(1, "INFO", "fine")]) == []
    long = error_lines([entry(1, "ERROR", "x" * 2000)])[0]
    assert len(long) == MAX_LINE_LENGTH and long.endswith("…")
    assert format_entry(LogEntry(severity=None, log_message="no time")) == "ERROR no time"
    assert logs_command("e-1") == "promoter logs e-1"
