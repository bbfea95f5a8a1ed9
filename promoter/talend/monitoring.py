"""Monitoring from the command line: what ran on Talend Cloud, and what it logged.

For the on-call engineer checking what a promotion did (its smoke runs) or what the tasks did
after it:

``promoter executions`` (formerly ``promoter runs``)
    Task executions in a period, filtered by environment, workspace, task, status and tags, with
    their metrics (duration, rows processed and rejected) — no logs are downloaded. All tasks go
    through ``POST /processing/executables/tasks/executions``; ``--task NAME`` uses the task's own
    list, ``GET /processing/executables/tasks/{taskId}/executions``.
``promoter logs EXECUTION``
    An execution's log, page by page (``GET /monitoring/executions/{id}/logs``); ``--severity``
    keeps lines at or above a level; ``--follow`` keeps reading while the execution runs and exits
    with its outcome (0 successful, 1 otherwise).

Log lines, task names and every other value read from Talend are data: in text output they go
through :func:`promoter.terminal.printable`, so an escape sequence in a log line is shown, not
sent to the terminal. ``--output json`` is escaped by the JSON encoder.

Both reach Talend Cloud like a promotion does (:meth:`promoter.talend.client.TalendClient.from_env`):
``TALEND_API_URL`` or ``TALEND_REGION``, and ``TALEND_ACCESS_TOKEN`` or ``TALEND_CLIENT_ID`` +
``TALEND_CLIENT_SECRET``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from promoter.cli.options import output_option
from promoter.terminal import printable, printable_markup

if TYPE_CHECKING:
    from promoter.talend.client import TalendClient
    from promoter.talend.models import LogEntry, TaskExecutionSummary

SEVERITIES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
"""Log levels, lowest first; ``--severity WARN`` keeps WARN, ERROR and FATAL."""
_SEVERITY_ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL", "ERR": "ERROR"}
STATUSES = (
    "dispatching",
    "deploy_failed",
    "executing",
    "execution_rejected",
    "execution_successful",
    "execution_failed",
    "terminated",
    "terminated_timeout",
    "terminated_shutdown",
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """``30m``, ``6h``, ``2d``, ``1w`` (or plain seconds) as a time span."""
    match = _DURATION.match(text)
    if match:
        return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a time span; write e.g. 30m, 6h, 2d") from None


def parse_when(text: str, option: str, now: datetime | None = None) -> datetime:
    """``--since``/``--until``: a time span back from now (``30m``, ``6h``, ``2d``) or an ISO
    8601 time (``2026-11-28T22:00:00Z``, UTC unless it says otherwise)."""
    if _DURATION.match(text) or re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", text):
        return (now or datetime.now(UTC)) - parse_since(text)
    try:
        return parse_moment(text)
    except click.BadParameter:
        raise click.BadParameter(
            f"{text!r} is neither a time span nor an ISO 8601 time; write e.g. 6h, 2d or "
            "2026-11-28T22:00:00Z",
            param_hint=option,
        ) from None


def deprecated_option(old: str, new: str) -> None:
    """One line on standard error: ``old`` still works, ``new`` is its name now."""
    click.echo(f"warning: {old} is deprecated; use {new} (same value)", err=True)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time; write e.g. 2026-11-28T22:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def severity_level(name: str | None) -> int:
    """The rank of a severity name (unknown names rank as INFO)."""
    upper = (name or "INFO").upper()
    upper = _SEVERITY_ALIASES.get(upper, upper)
    return SEVERITIES.index(upper) if upper in SEVERITIES else SEVERITIES.index("INFO")


# --- promoter runs --------------------------------------------------------------------------------


class ExecutionFinder:
    """Finds task executions by names (environment, workspace, task) rather than ids."""

    def __init__(self, client: TalendClient) -> None:
        self.client = client
        self._task_names: dict[str, str] = {}
        self._task_tags: dict[str, list[str]] = {}

    def environment_id(self, name: str) -> str:
        """The id of the environment called ``name``."""
        from promoter.errors import ConfigurationError

        found = self.client.environments.get_by_name(name)
        if found is None:
            known = ", ".join(
                printable(e.name, one_line=True) for e in self.client.environments.list()
            )
            raise ConfigurationError(f"no environment {name!r}", hint=f"environments: {known}")
        return found.id

    def workspace_id(self, name: str, environment_id: str | None) -> str:
        """The id of the workspace called ``name`` (in the environment, when given)."""
        from promoter.errors import ConfigurationError

        found = self.client.workspaces.list(name=name, environment_id=environment_id)
        if not found:
            raise ConfigurationError(
                f"no workspace {name!r}" + (" in that environment" if environment_id else ""),
                hint="check the name with the Talend Management Console",
            )
        if len(found) > 1 and environment_id is None:
            raise ConfigurationError(
                f"workspace {name!r} exists in several environments",
                hint="add --environment ENV",
            )
        if found[0].id is None:
            raise ConfigurationError(f"Talend answered workspace {name!r} without an id")
        return found[0].id

    def task_name(self, task_id: str) -> str:
        """A task's name (looked up once per task)."""
        if task_id not in self._task_names:
            from promoter.talend.errors import NotFound

            try:
                task = self.client.tasks.get(task_id)
                self._task_names[task_id] = task.name
                self._task_tags[task_id] = list(task.tags or [])
            except NotFound:
                self._task_names[task_id] = f"(deleted task {task_id})"
                self._task_tags[task_id] = []
        return self._task_names[task_id]

    def task_tags(self, task_id: str) -> list[str]:
        """A task's tags."""
        self.task_name(task_id)
        return self._task_tags[task_id]

    def executions(
        self,
        *,
        environment: str | None,
        workspace: str | None,
        task: str | None,
        status: str | None,
        tags: list[str],
        since: datetime,
        until: datetime | None,
        limit: int,
    ) -> Iterator[TaskExecutionSummary]:
        """Matching executions, newest first, at most ``limit``."""
        from promoter.errors import ConfigurationError
        from promoter.talend.models import TaskExecutionFilters

        environment_id = self.environment_id(environment) if environment else None
        workspace_id = self.workspace_id(workspace, environment_id) if workspace else None
        from_ms, to_ms = _ms(since), (_ms(until) if until else None)
        found: list[TaskExecutionSummary] = []
        if task is None:
            filters = TaskExecutionFilters(
                environment_id=environment_id,
                workspace_id=workspace_id,
                status=status,
                tags=tags or None,
                from_=from_ms,
                to=to_ms,
                limit=min(limit, 100),
            )
            for item in self.client.executions.search(filters):
                found.append(item)
                if len(found) >= limit:
                    break
        else:
            tasks = [
                t
                for t in self.client.tasks.list(
                    name=task, environment_id=environment_id, workspace_id=workspace_id
                )
                if t.name == task
            ]
            if not tasks:
                raise ConfigurationError(
                    f"no task {task!r}"
                    + (f" in {environment}" if environment else "")
                    + (f"/{workspace}" if workspace else ""),
                    hint="names are exact; `promoter runs` without --task lists every task's runs",
                )
            for summary in tasks:
                if tags and not set(tags) <= set(self.task_tags(summary.executable)):
                    continue
                for item in self.client.executions.list_for_task(
                    summary.executable, status=status, from_=from_ms, to=to_ms
                ):
                    found.append(item)
                    if len(found) >= limit:
                        break
        found.sort(key=lambda e: e.trigger_timestamp, reverse=True)
        yield from found[:limit]


def execution_row(
    finder: ExecutionFinder, item: TaskExecutionSummary, metrics: bool
) -> dict[str, Any]:
    """One execution as a flat dict: ids, task, status, times, duration and (with ``metrics``) rows."""
    duration = None
    if item.start_timestamp and item.finish_timestamp:
        duration = round((item.finish_timestamp - item.start_timestamp).total_seconds(), 3)
    row: dict[str, Any] = {
        "execution_id": item.execution_id,
        "task_id": item.task_id,
        "task": finder.task_name(item.task_id),
        "task_version": item.task_version,
        "status": str(item.status),
        "type": item.execution_type,
        "triggered_at": _iso(item.trigger_timestamp),
        "started_at": _iso(item.start_timestamp),
        "finished_at": _iso(item.finish_timestamp),
        "duration": duration,
        "error": item.error_message,
        "processed_rows": None,
        "rejected_rows": None,
    }
    if metrics:
        detail = finder.client.executions.get(item.execution_id)
        row["processed_rows"] = detail.number_of_processed_rows
        row["rejected_rows"] = detail.number_of_rejected_rows
    return row


@click.command(short_help="List task executions: status, duration, rows.")
@click.option("--environment", "-e", default=None, metavar="ENV", help="Only this environment.")
@click.option("--workspace", "-w", default=None, metavar="NAME", help="Only this workspace.")
@click.option("--task", "-t", default=None, metavar="NAME", help="Only this task (exact name).")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Only tasks with this tag (repeatable)."
)
@click.option(
    "--since",
    default="24h",
    show_default=True,
    metavar="SPAN|TIME",
    help="Start of the period: how far back (30m, 6h, 2d, 1w) or an ISO 8601 time.",
)
@click.option(
    "--until",
    default=None,
    metavar="SPAN|TIME",
    help="End of the period: how long ago (1h) or an ISO 8601 time [default: now].",
)
# --from/--to were times here while `promoter diff` reads them as environments: renamed to
# --since/--until; the old names still work, hidden, with a deprecation line.
@click.option("--from", "from_", default=None, metavar="TIME", hidden=True)
@click.option("--to", "to", default=None, metavar="TIME", hidden=True)
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=50, show_default=True)
@click.option(
    "--no-rows",
    is_flag=True,
    help="Skip rows processed/rejected (one request per execution).",
)
@output_option
def executions(
    environment: str | None,
    workspace: str | None,
    task: str | None,
    status: str | None,
    tags: tuple[str, ...],
    since: str,
    until: str | None,
    from_: str | None,
    to: str | None,
    limit: int,
    no_rows: bool,
    output: str,
) -> None:
    """List task executions in a period, newest first, with their metrics (no logs downloaded).

    \b
    promoter executions --environment prod --since 6h
    promoter executions -e prod -w Finance --status execution_failed
    promoter executions --task "Finance ledger sync" --since 2026-11-28T00:00:00Z --output json
    promoter executions -e prod --since 2d --until 1d

    (`promoter runs` is the same command, under its old name.)

    Exit 0; 2 when a name is unknown or the Talend connection is not configured.
    """
    if from_ is not None:
        deprecated_option("--from", "--since")
        since = from_
    if to is not None:
        deprecated_option("--to", "--until")
        until = to
    now = datetime.now(UTC)
    begin = parse_when(since, "--since", now)
    end = parse_when(until, "--until", now) if until else None
    from promoter.talend.client import TalendClient

    with TalendClient.from_env() as client:
        finder = ExecutionFinder(client)
        rows = [
            execution_row(finder, item, metrics=not no_rows)
            for item in finder.executions(
                environment=environment,
                workspace=workspace,
                task=task,
                status=status,
                tags=list(tags),
                since=begin,
                until=end,
                limit=limit,
            )
        ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    _print_runs(rows, begin, end)


def _print_runs(rows: list[dict[str, Any]], begin: datetime, end: datetime | None) -> None:
    from rich import box
    from rich.table import Table

    from promoter.builtins.console import is_plain, make_console

    console = make_console(sys.stdout)
    period = f"{_iso(begin)} to {_iso(end) if end else 'now'}"
    if not rows:
        console.print(f"no task executions from {period}")
        return
    table = Table(box=box.ASCII2 if is_plain(console) else box.SIMPLE_HEAD, expand=False)
    for column, justify in (
        ("execution", "left"),
        ("task", "left"),
        ("status", "left"),
        ("triggered", "left"),
        ("duration", "right"),
        ("rows", "right"),
        ("rejected", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        good = row["status"] == "execution_successful"
        style = (
            "green"
            if good
            else ("yellow" if row["status"] in ("dispatching", "executing") else "red")
        )
        table.add_row(
            printable_markup(row["execution_id"]),
            printable_markup(row["task"]),
            f"[{style}]{printable_markup(row['status'])}[/{style}]",
            row["triggered_at"] or "-",
            f"{row['duration']:.1f}s" if row["duration"] is not None else "-",
            "-" if row["processed_rows"] is None else str(row["processed_rows"]),
            "-" if row["rejected_rows"] is None else str(row["rejected_rows"]),
        )
    console.print(table)
    failed = sum(
        1 for r in rows if r["status"] not in ("execution_successful", "dispatching", "executing")
    )
    console.print(
        f"{len(rows)} execution(s) from {period}"
        + (f", {failed} not successful" if failed else "")
        + "; `promoter logs EXECUTION` shows one's log"
    )


# --- promoter logs --------------------------------------------------------------------------------


LOG_CONTINUATION = "\n    "
"""What starts the second and later lines of a multi-line log message (a stack trace)."""


def format_line(entry: LogEntry) -> str:
    """One log line: UTC time, severity, message.

    The message is data from Talend, shown through :func:`~promoter.terminal.printable`: its
    escape sequences are shown, not obeyed. A multi-line message (a stack trace) keeps its lines,
    indented: none of them can pass for a line of the log, which all start with a time.
    """
    when = (
        datetime.fromtimestamp(entry.log_timestamp / 1000, UTC).isoformat(timespec="milliseconds")
        if entry.log_timestamp is not None
        else "-"
    ).replace("+00:00", "Z")
    severity = printable(entry.severity or "-", one_line=True)
    message = printable(entry.log_message or "").replace("\n", LOG_CONTINUATION)
    return f"{when} {severity:<5} {message}"


class LogReader:
    """Reads an execution's log from where it stopped, page by page."""

    def __init__(self, client: TalendClient, execution_id: str, page_size: int) -> None:
        self.client = client
        self.execution_id = execution_id
        self.page_size = page_size
        self.index = 0

    def new_lines(self) -> Iterator[LogEntry]:
        """Every line logged since the last call (all of them on the first)."""
        while True:
            page = self.client.logs.page(
                self.execution_id, start_index=self.index, count=self.page_size, order="ASC"
            )
            yield from page.data
            if page.next_index is not None and page.next_index > self.index:
                self.index = page.next_index
                continue
            self.index += len(page.data)
            return


@click.command(short_help="Show an execution's log (paged, --follow).")
@click.argument("execution_id", metavar="EXECUTION")
@click.option(
    "--severity",
    type=click.Choice([*SEVERITIES, *_SEVERITY_ALIASES], case_sensitive=False),
    default=None,
    help="Only lines at or above this level (e.g. WARN: WARN, ERROR, FATAL).",
)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep reading while the execution runs; exit with its outcome.",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 200),
    default=200,
    show_default=True,
    help="Lines per request.",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="With --follow: seconds between reads.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="With --follow: give up after this long (exit 1).",
)
@output_option
def logs(
    execution_id: str,
    severity: str | None,
    follow: bool,
    page_size: int,
    poll: float,
    timeout: float,
    output: str,
) -> None:
    """Show the log of task execution EXECUTION (`promoter executions` lists them), oldest line
    first; with --output json, one JSON object per line.

    \b
    promoter logs 6f1c...                    # the whole log, paged 200 lines at a time
    promoter logs 6f1c... --severity ERROR   # errors only
    promoter logs 6f1c... --follow           # until it ends; exit 0 when successful, else 1
    """
    threshold = severity_level(severity) if severity else None
    from promoter.talend.client import TalendClient

    with TalendClient.from_env() as client:
        reader = LogReader(client, execution_id, page_size)

        def emit() -> None:
            for entry in reader.new_lines():
                if threshold is not None and severity_level(entry.severity) < threshold:
                    continue
                if output == "json":
                    click.echo(json.dumps(entry.model_dump(mode="json", by_alias=True)))
                else:
                    click.echo(format_line(entry))

        if not follow:
            emit()
            return
        deadline = time.monotonic() + timeout
        while True:
            execution = client.executions.get(execution_id)
            emit()
            if execution.status.is_terminal:
                emit()  # lines written between the status read and the last page
                break
            if time.monotonic() > deadline:
                status = printable(execution.status, one_line=True)
                click.echo(f"still {status} after {timeout:.0f}s; stopped following", err=True)
                raise click.exceptions.Exit(1)
            time.sleep(poll)
    click.echo(
        f"execution {printable(execution_id, one_line=True)}: "
        f"{printable(execution.status, one_line=True)}",
        err=True,
    )
    if str(execution.status) != "execution_successful":
        raise click.exceptions.Exit(1)


runs = click.Command(
    name="runs",
    callback=executions.callback,
    params=executions.params,
    help=executions.help,
    short_help="Old name of `promoter executions`.",
    hidden=True,
)
"""``promoter runs``: the old name of ``promoter executions`` (Talend task executions, not
promotion runs — those are ``promoter history``)."""


__all__ = [
    "ExecutionFinder",
    "LogReader",
    "deprecated_option",
    "executions",
    "logs",
    "parse_when",
    "runs",
]
