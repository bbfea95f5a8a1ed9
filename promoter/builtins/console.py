"""Built-in console reporter: what a run is doing, on standard error, for the person watching.

- a heading, then one line per stage with its duration and what it found;
- after the plan, the plan as a table: each object created, updated or unchanged, with the fields
  that change (before -> after); secret fingerprints show as ``(secret changed)``;
- during apply, verify and rollback, a progress bar per object;
- at the end, a summary table of every stage's status and duration; for each failed check, the
  evidence it points at (the execution, its last ERROR lines, ``promoter logs <id>``); what the
  target runs now (exact versions); and the outcome.

In a terminal the output is rich (colours, live progress bars). Without a terminal (CI logs, pipes),
or with ``NO_COLOR`` set, or ``TERM=dumb``, it is plain text with no escape codes, and progress is
one line per finished object. ``PROMOTER_CONSOLE=plain|rich`` forces one or the other.

Every piece of data shown (names, values, messages from Talend or the pipeline file) goes through
:func:`promoter.terminal.printable_markup`: an escape sequence in a value is shown, not obeyed, in
both forms. A report that could not be written ends the output with a warning naming why.

Standard output stays free for ``--output json``. Disable this plugin with
``PROMOTER_DISABLE_PLUGINS=console``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from promoter import (
    Change,
    ChangeAction,
    CheckResult,
    ObjectProgress,
    ObjectStatus,
    Plan,
    RunContext,
    RunOutcome,
    StageOutcome,
    StageStatus,
    hookimpl,
)
from promoter.builtins.reports.state import state_sentences
from promoter.terminal import printable, printable_markup

CONSOLE_ENV = "PROMOTER_CONSOLE"
SECRET_FINGERPRINT = "secret:sha256:"
MAX_UNCHANGED_ROWS = 15
"""Beyond this many unchanged objects, the plan table shows their count instead of each one."""
MAX_VALUE_WIDTH = 48

_STATE_KEY = "console"
_PROGRESS_STAGES = ("apply", "verify", "rollback")
_STYLES = {
    "ok": "green",
    "failed": "bold red",
    "blocked": "yellow",
    "skipped": "dim",
    "interrupted": "magenta",
}
_ACTION_STYLES = {
    ChangeAction.CREATE: "green",
    ChangeAction.UPDATE: "yellow",
    ChangeAction.DELETE: "red",
    ChangeAction.UNCHANGED: "dim",
}
_GOOD = {"promoted", "nothing-to-do", "planned"}


def wants_plain(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Whether output to ``stream`` must be plain: no TTY, ``NO_COLOR``, ``TERM=dumb``."""
    env = os.environ if environ is None else environ
    forced = env.get(CONSOLE_ENV, "").strip().lower()
    if forced in ("plain", "rich"):
        return forced == "plain"
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return True
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def make_console(stream: TextIO | None = None, *, plain: bool | None = None) -> Console:
    """A rich console for ``stream`` (default: standard error); plain means no escape codes."""
    target = stream if stream is not None else sys.stderr
    plain = wants_plain(target) if plain is None else plain
    if plain:
        # No terminal to fit: wide enough that plan rows stay one line in a CI log.
        width = max(int(os.environ.get("COLUMNS", "0") or 0), 200)
        return Console(
            file=target,
            color_system=None,
            force_terminal=False,
            force_interactive=False,
            no_color=True,
            highlight=False,
            emoji=False,
            width=width,
            soft_wrap=True,  # CI logs do not wrap: a long line stays one line
        )
    return Console(file=target, highlight=False)


def is_plain(console: Console) -> bool:
    """Whether ``console`` writes plain text."""
    return console.color_system is None


def show_value(value: Any) -> str:
    """A field value for the plan table: short, one line, printable, secrets as ``(secret)``."""
    if isinstance(value, str) and value.startswith(SECRET_FINGERPRINT):
        return "(secret)"
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    # Escaped before it is cut: the cut cannot leave half of a control sequence.
    text = printable(text, one_line=True)
    return text if len(text) <= MAX_VALUE_WIDTH else text[: MAX_VALUE_WIDTH - 1] + "…"


def describe_field(change: Change, index: int) -> str:
    """One changed field, printable: ``path: before -> after``, or ``path: (secret changed)``."""
    f = change.fields[index]
    path = printable(f.path, one_line=True)
    secret = any(
        isinstance(v, str) and v.startswith(SECRET_FINGERPRINT) for v in (f.before, f.after)
    )
    if secret:
        return f"{path}: (secret changed)"
    if change.action is ChangeAction.CREATE or f.before is None:
        return f"{path}: {show_value(f.after)}"
    return f"{path}: {show_value(f.before)} -> {show_value(f.after)}"


def plan_title(plan: Plan) -> str:
    """The plan table's heading: the target and the counts per action."""
    counts = ", ".join(f"{n} {a}" for a, n in plan.counts().items() if n) or "nothing"
    return f"[bold]Plan for {printable_markup(plan.target.key)}[/bold]: {counts}"


def plan_rows(plan: Plan) -> list[tuple[ChangeAction, str, list[str]]]:
    """The plan table's rows, printable text: action, object, one line per changed field. Past
    :data:`MAX_UNCHANGED_ROWS`, the unchanged objects are one row that counts them."""
    rows: list[tuple[ChangeAction, str, list[str]]] = []
    order = [ChangeAction.CREATE, ChangeAction.UPDATE, ChangeAction.DELETE, ChangeAction.UNCHANGED]
    for action in order:
        changes = [c for c in plan.changes if c.action is action]
        if action is ChangeAction.UNCHANGED and len(changes) > MAX_UNCHANGED_ROWS:
            rows.append((action, f"{len(changes)} objects", []))
            continue
        for change in changes:
            fields = [describe_field(change, i) for i in range(len(change.fields))]
            rows.append((action, printable(f"{change.kind}:{change.key}", one_line=True), fields))
    return rows


def plan_table(plan: Plan, *, plain: bool) -> Table:
    """The plan as a table: action, object, changed fields."""
    table = Table(
        box=box.ASCII2 if plain else box.SIMPLE_HEAD,
        show_lines=False,
        expand=False,
    )
    table.add_column("action", no_wrap=True)
    table.add_column("object", overflow="fold")
    table.add_column("changes", overflow="fold")
    for action, name, fields in plan_rows(plan):
        counted = action is ChangeAction.UNCHANGED and name.endswith(" objects")
        style = "dim" if counted else _ACTION_STYLES[action]
        table.add_row(
            f"[{style}]{action.value}[/{style}]",
            f"[dim]{escape(name)}[/dim]" if counted else escape(name),
            "\n".join(escape(f) for f in fields)
            or ("[dim]-[/dim]" if action is not ChangeAction.UNCHANGED else ""),
        )
    return table


def plain_plan_table(plan: Plan) -> str:
    """The plan table as plain text, laid out as :func:`plan_table` draws it in plain mode (an
    ASCII box), without rich: rich takes ~0.4 ms of CPU to lay out a row, half a second for a
    1,200-row plan in a CI log. Cells are never folded (a CI log does not wrap)."""
    rows = [
        (action.value, name, fields or (["-"] if action is not ChangeAction.UNCHANGED else []))
        for action, name, fields in plan_rows(plan)
    ]
    header = ("action", "object", "changes")
    widths = [
        max([cell_len(header[0]), *(cell_len(r[0]) for r in rows)]),
        max([cell_len(header[1]), *(cell_len(r[1]) for r in rows)]),
        max([cell_len(header[2]), *(cell_len(line) for r in rows for line in r[2])]),
    ]

    def line(cells: tuple[str, str, str]) -> str:
        padded = (c + " " * (w - cell_len(c)) for c, w in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, line(header), rule]
    for action, name, fields in rows:
        out.append(line((action, name, fields[0] if fields else "")))
        out.extend(line(("", "", more)) for more in fields[1:])
    out.append(rule)
    return "\n".join(out)


@dataclass
class RunView:
    """The console's state for one run: where it writes, and the live progress, if any."""

    console: Console
    plan: Plan | None = None
    failed_checks: int = 0
    progress: Progress | None = None
    tasks: dict[tuple[str, str], TaskID] = field(default_factory=dict)
    overall: TaskID | None = None
    total_known: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def plain(self) -> bool:
        """Whether the output is plain text."""
        return is_plain(self.console)

    def stop_progress(self) -> None:
        """End the live progress display, leaving its last frame on screen."""
        with self.lock:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None
                self.tasks.clear()
                self.overall = None


def view(run: RunContext) -> RunView:
    """The run's console view, created on first use (``run.state['console']``)."""
    found = run.state.get(_STATE_KEY)
    if not isinstance(found, RunView):
        found = RunView(console=make_console())
        run.state[_STATE_KEY] = found
    return found


@hookimpl(trylast=True)
def promoter_run_started(run: RunContext) -> None:
    """Announce the run."""
    v = view(run)
    verb = {"plan": "Planning", "resume": "Resuming", "rollback": "Rolling back"}.get(
        run.command, "Planning" if run.dry_run else "Promoting"
    )
    reason = f" - reason: {run.reason}" if run.reason else ""
    v.console.print(
        f"[bold]{verb} {printable_markup(run.pipeline.name)}[/bold] "
        f"({printable_markup(run.source.key)} -> {printable_markup(run.target.key)}), "
        f"run {printable_markup(run.run_id)}{printable_markup(reason)}"
    )


@hookimpl(trylast=True)
def promoter_before_stage(run: RunContext, stage: str) -> None:
    """Start the progress bars of apply, verify and rollback (in a terminal)."""
    v = view(run)
    if stage not in _PROGRESS_STAGES or v.plain:
        return
    progress = Progress(
        SpinnerColumn(finished_text="•"),
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=v.console,
        transient=False,
    )
    total = len(v.plan.pending) if (stage == "apply" and v.plan is not None) else None
    try:
        with v.lock:
            v.progress = progress
            v.overall = progress.add_task(f"[bold]{stage}[/bold]", total=total)
            v.total_known = total is not None
        progress.start()
    except Exception:  # a display problem must never fail a stage: fall back to lines
        v.progress = None


@hookimpl(trylast=True)
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """A bar per object in a terminal; a line per finished object otherwise."""
    v = view(run)
    name = f"{event.kind}:{event.key}"
    if v.plain or v.progress is None:
        if event.status is ObjectStatus.STARTED:
            return
        detail = f" - {event.message}" if event.message else ""
        mark = "FAILED" if event.status is ObjectStatus.FAILED else event.status.value
        stage = printable_markup(f"{event.stage:<8}")
        v.console.print(f"    {stage} {printable_markup(name)}: {mark}{printable_markup(detail)}")
        return
    try:
        _advance(v, event, name)
    except Exception:  # a display problem must never fail a stage: stop the live display
        v.stop_progress()


def _advance(v: RunView, event: ObjectProgress, name: str) -> None:
    """Move the live progress display on by one event."""
    with v.lock:
        progress = v.progress
        if progress is None:
            return
        key = (event.kind, event.key)
        task = v.tasks.get(key)
        if task is None:
            task = progress.add_task(f"  {printable_markup(name)}", total=1)
            v.tasks[key] = task
            if v.overall is not None and not v.total_known:
                progress.update(v.overall, total=len(v.tasks))
        if event.status is ObjectStatus.STARTED:
            return
        style = "red" if event.status is ObjectStatus.FAILED else "green"
        detail = f" [dim]{printable_markup(event.message)}[/dim]" if event.message else ""
        progress.update(
            task,
            completed=1,
            description=(
                f"  [{style}]{printable_markup(name)}[/{style}] {event.status.value}{detail}"
            ),
        )
        if v.overall is not None:
            progress.advance(v.overall)


@hookimpl(trylast=True)
def promoter_after_stage(
    run: RunContext, stage: str, outcome: StageOutcome, result: Any
) -> None:
    """One line per stage (and, after the plan, the plan table)."""
    v = view(run)
    v.stop_progress()
    if isinstance(result, Plan):
        v.plan = result
    elif stage == "verify" and isinstance(result, list):
        v.failed_checks = sum(1 for c in result if isinstance(c, CheckResult) and not c.passed)
    status = outcome.status.value
    if stage == "verify" and status == "failed" and v.failed_checks:
        status = f"failed ({v.failed_checks} check(s))"
    style = _STYLES.get(status.split(" ")[0], "")
    who = f" [dim]\\[{printable_markup(outcome.plugin)}][/dim]" if outcome.plugin else ""
    shown = printable_markup(f"{stage:<9}")
    v.console.print(f"  {shown} [{style}]{status}[/{style}] ({outcome.duration:.2f}s){who}")
    for message in outcome.messages:
        print_message(v.console, message, indent=12)
    if isinstance(result, Plan) and outcome.status.value == "ok":
        v.console.print(plan_title(result))
        if v.plain:
            v.console.out(plain_plan_table(result), highlight=False)
        else:
            v.console.print(plan_table(result, plain=False))


def print_message(console: Console, message: str, *, indent: int) -> None:
    """A message (from a stage, Talend, a plugin), printable, each of its lines indented: a line
    of a message cannot pass for one of promoter's own."""
    for line in printable(message).split("\n"):
        console.print(" " * indent + printable_markup(line))


def indented_markup(message: str, indent: int) -> str:
    """A message for rich markup, printable, its second and later lines (a hint) indented."""
    return printable_markup(message, one_line=False).replace("\n", "\n" + " " * indent)


def summary_table(outcome: RunOutcome, *, plain: bool) -> Table:
    """Every stage's status and duration, and the total."""
    table = Table(
        box=box.ASCII2 if plain else box.SIMPLE_HEAD,
        expand=False,
    )
    table.add_column("stage")
    table.add_column("status")
    table.add_column("duration", justify="right")
    failed_checks = sum(1 for c in outcome.checks if not c.passed)
    for s in outcome.stages:
        status = s.status.value
        if s.stage == "verify" and status == "failed" and failed_checks:
            status = f"failed ({failed_checks} check(s))"
        style = _STYLES.get(status.split(" ")[0], "")
        table.add_row(
            printable_markup(s.stage), f"[{style}]{status}[/{style}]", f"{s.duration:.2f}s"
        )
    total = sum(s.duration for s in outcome.stages)
    table.add_row("[bold]total[/bold]", "", f"[bold]{total:.2f}s[/bold]")
    return table


def outcome_line(outcome: RunOutcome) -> tuple[str, str]:
    """``(status shown, message)`` of the closing line, saying the status once: a message that
    starts with it (``blocked: approval: ...``, ``ROLLBACK INCOMPLETE: ...``) is shown alone."""
    status, message = outcome.status.value, outcome.message
    head = message.split(":", 1)[0]
    if ":" in message and head.strip().lower().replace(" ", "-") == status:
        return head, message.split(":", 1)[1].lstrip()
    return status, message


def print_evidence(console: Console, outcome: RunOutcome) -> None:
    """For each failed check: the execution it judged, its last ERROR lines, and the command
    that shows the whole log. The lines are Talend data: shown, never obeyed."""
    for check in outcome.checks:
        if check.passed:
            continue
        details = check.details
        execution = details.get("executionId")
        where = f": execution {execution}" if execution else ""
        console.print(
            f"[bold red]failed check[/bold red] {printable_markup(check.name)}"
            f"{printable_markup(where)}"
        )
        lines = details.get("errorLines")
        if isinstance(lines, list) and lines:
            for line in lines:
                console.print("  " + printable_markup(line))
        elif isinstance(details.get("errorLinesUnavailable"), str):
            console.print("  " + printable_markup(details["errorLinesUnavailable"]))
        elif check.message:
            console.print("  " + printable_markup(check.message))
        command = details.get("logs")
        if isinstance(command, str) and command:
            console.print(f"  full log: {printable_markup(command)}")


@hookimpl(trylast=True)
def promoter_run_finished(run: RunContext, outcome: RunOutcome) -> None:
    """The summary table; the failed checks' evidence; what the target runs now; the outcome
    and its exit code; where the reports are."""
    v = view(run)
    v.stop_progress()
    v.console.print("[bold]Summary[/bold]")
    v.console.print(summary_table(outcome, plain=v.plain))
    print_evidence(v.console, outcome)
    if outcome.plan is not None or outcome.rollback is not None:
        sentences = state_sentences(outcome, run.target.key)
        v.console.print("[bold]target now[/bold]: " + printable_markup(sentences[0]))
        for sentence in sentences[1:]:
            v.console.print("            " + printable_markup(sentence))
    style = "bold green" if outcome.status.value in _GOOD else "bold red"
    if outcome.status.value in ("rolled-back", "blocked"):
        style = "bold yellow"
    status, message = outcome_line(outcome)
    v.console.print(
        f"[{style}]{printable_markup(status)}[/{style}]: {indented_markup(message, 2)} "
        f"(exit {outcome.exit_code})"
    )
    files = run.state.get("report_files")
    if isinstance(files, list) and files:
        directory = os.path.dirname(str(files[0]))
        names = ", ".join(os.path.basename(str(f)) for f in files)
        v.console.print(f"reports: {printable_markup(directory)}/ ({printable_markup(names)})")
    for failed in failed_reports(outcome):
        warn_report_failed(v.console, failed, outcome)


def failed_reports(outcome: RunOutcome) -> list[StageOutcome]:
    """The report stages of ``outcome`` that failed (a report plugin raised)."""
    return [
        s
        for s in outcome.stages
        if s.stage == "report" and s.status in (StageStatus.FAILED, StageStatus.INTERRUPTED)
    ]


def warn_report_failed(console: Console, stage: StageOutcome, outcome: RunOutcome) -> None:
    """The closing warning of a run whose reports failed: what failed, why, and that the exit code
    is still the promotion's (a CI job missing its junit.xml learns why from its log)."""
    who = f" (plugin {stage.plugin})" if stage.plugin else ""
    console.print(
        f"[bold yellow]warning:[/bold yellow] the report stage failed{printable_markup(who)}; "
        "report files may be missing or incomplete. The exit code "
        f"({outcome.exit_code}) is the run's own: a report does not change it. Why:"
    )
    for message in stage.messages or ["(no message)"]:
        print_message(console, message, indent=2)
