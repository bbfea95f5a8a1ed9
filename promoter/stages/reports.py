"""Built-in report writer: what a run did, as ``run.json``, ``junit.xml``, ``summary.md`` and
``report.html``, for CI systems, job summaries and auditors.

Where the files go:

- ``promoter promote ... --report-dir DIR`` (or ``PROMOTER_REPORT_DIR``): all four files, directly
  in ``DIR`` (fixed names, so a CI job can pick them up);
- otherwise the pipeline's ``reports:`` section: the formats listed in ``reports.formats``, in
  ``<reports.dir>/<run id>/`` (relative to the working directory), one directory per run.

A directory from the command line is the user's choice. One from the pipeline file — written by
whoever can open a pull request — must stay under the working directory: its real path (symlinks
resolved) is checked when the files are written, and a directory outside is refused. A report that
cannot be written fails the report stage (recorded in the run's stages, shown by the console) but
does not change the run's exit code: the promotion itself is what the code reports.

When ``GITHUB_STEP_SUMMARY`` is set (GitHub Actions), ``summary.md`` is also appended to it.

Every report is built from one document, :func:`build_document` — ``run.json``, whose versioned
schema is published as ``docs/schemas/run-v1.json``. Secrets never reach it: secret values the run
resolved are redacted, and secret fingerprints (``secret:sha256:...``) read ``(secret)``.
Disable the plugin with ``PROMOTER_DISABLE_PLUGINS=reports``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import click

from promoter.errors import PromoterError
from promoter.hookspecs import hookimpl
from promoter.run import ObjectProgress, Plan, RunContext, RunOutcome
from promoter.terminal import printable, printable_json

SCHEMA_VERSION = 1
"""The version of ``run.json``; a change that breaks readers bumps it (``run-v2.json``)."""
SCHEMA_ID = "https://promoter.dev/schemas/run-v1.json"
"""The ``$id`` of the published schema (``docs/schemas/run-v1.json``)."""

REPORT_DIR_ENV = "PROMOTER_REPORT_DIR"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
SECRET_FINGERPRINT = "secret:sha256:"
SECRET_SHOWN = "(secret)"

FILES: dict[str, str] = {
    "json": "run.json",
    "junit": "junit.xml",
    "markdown": "summary.md",
    "html": "report.html",
}
"""Report format (as named in ``reports.formats``) -> file name."""

TEMPLATE_NAME = "report.html.j2"
_STATE_KEY = "reports"
_OVERRIDE_HINT = (
    f"or choose the directory on the command line: --report-dir DIR or {REPORT_DIR_ENV}"
)


class ReportError(PromoterError):
    """Report files could not be written (all, or some: ``written`` lists those that were).

    Raised from the report stage, it fails that stage; the run's outcome and exit code stand.
    """

    def __init__(
        self, message: str, *, hint: str | None = None, written: list[Path] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.written = list(written or [])


# --- what the run produced, captured from hooks ---------------------------------------------------


@dataclass
class RunCapture:
    """What the report needs beyond the :class:`RunOutcome`: the plan and per-object progress."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    plan: Plan | None = None
    progress: list[ObjectProgress] = field(default_factory=list)


def capture(run: RunContext) -> RunCapture:
    """The run's capture, created on first use (kept in ``run.state['reports']``)."""
    found = run.state.get(_STATE_KEY)
    if not isinstance(found, RunCapture):
        found = RunCapture()
        run.state[_STATE_KEY] = found
    return found


@hookimpl
def promoter_run_started(run: RunContext) -> None:
    """Start the run's clock for the timeline."""
    capture(run)


@hookimpl(wrapper=True)
def promoter_stage(run: RunContext, stage: Any) -> Generator[None, Any, Any]:
    """Keep the plan: the report shows its field-level diff."""
    result = yield
    if getattr(stage, "name", None) == "plan" and isinstance(result, Plan):
        capture(run).plan = result
    return result


@hookimpl
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """Keep per-object progress: the report lists what was written, checked and restored."""
    capture(run).progress.append(event)


@hookimpl(trylast=True)
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    """``--report-dir DIR`` on ``promote`` and ``plan``."""
    if command not in ("promote", "plan"):
        return None
    return [
        click.Option(
            ["--report-dir", "report_dir"],
            envvar=REPORT_DIR_ENV,
            default=None,
            metavar="DIR",
            type=click.Path(file_okay=False),
            help=(
                "Write run.json, junit.xml, summary.md and report.html into DIR "
                f"[env {REPORT_DIR_ENV}; default: the pipeline's reports section]."
            ),
        )
    ]


# --- the document ---------------------------------------------------------------------------------


def mask_fingerprints(value: Any) -> Any:
    """``value`` with every secret fingerprint replaced by ``(secret)`` (recursively)."""
    if isinstance(value, str):
        return SECRET_SHOWN if value.startswith(SECRET_FINGERPRINT) else value
    if isinstance(value, dict):
        return {k: mask_fingerprints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_fingerprints(v) for v in value]
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_document(
    run: RunContext, outcome: RunOutcome, *, finished_at: datetime | None = None
) -> dict[str, Any]:
    """The ``run.json`` document (schema ``docs/schemas/run-v1.json``), secrets masked."""
    captured = capture(run)
    finished = finished_at or datetime.now(UTC)
    started = min([captured.started_at, *(s.started_at for s in outcome.stages)])
    plan = captured.plan
    document: dict[str, Any] = {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": outcome.run_id,
            "command": run.command,
            "pipeline": run.pipeline.name,
            "pipeline_kind": run.pipeline.kind,
            "pipeline_file": str(run.pipeline_path),
            "pipeline_sha256": run.loaded.sha256,
            "source": run.source.key,
            "target": run.target.key,
            "user": run.user,
            "host": socket.gethostname(),
            "reason": run.reason,
            "dry_run": run.dry_run,
            "resumed": run.resumed,
            "versions": {a.name: a.version for a in run.pipeline.artifacts},
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "duration": round((finished - started).total_seconds(), 3),
        },
        "outcome": {
            "status": outcome.status.value,
            "exit_code": outcome.exit_code,
            "message": outcome.message,
        },
        "stages": [
            {
                "stage": s.stage,
                "status": s.status.value,
                "started_at": _iso(s.started_at),
                "offset": round(max(0.0, (s.started_at - started).total_seconds()), 3),
                "duration": round(s.duration, 3),
                "plugin": s.plugin,
                "messages": list(s.messages),
            }
            for s in outcome.stages
        ],
        "plan": None,
        "gates": [g.model_dump(mode="json") for g in outcome.gates],
        "checks": [c.model_dump(mode="json") for c in outcome.checks],
        "rollback": (
            {
                "complete": outcome.rollback.complete,
                "restored": [str(r) for r in outcome.rollback.restored],
                "differences": list(outcome.rollback.differences),
                "message": outcome.rollback.message,
            }
            if outcome.rollback is not None
            else None
        ),
        "progress": [
            {
                "stage": p.stage,
                "object": f"{p.kind}:{p.key}",
                "status": p.status.value,
                "message": p.message,
                "at": _iso(p.at),
            }
            for p in captured.progress
        ],
    }
    if plan is not None:
        document["plan"] = {
            "target": plan.target.key,
            "summary": plan.summary(),
            "changes": [
                {
                    "kind": c.kind,
                    "key": c.key,
                    "action": c.action.value,
                    "fields": [
                        {"path": f.path, "before": f.before, "after": f.after} for f in c.fields
                    ],
                }
                for c in plan.changes
            ],
        }
    elif outcome.plan_summary is not None:
        # A resumed run: the plan came back from the ledger, not through the plan stage.
        document["plan"] = {
            "target": run.target.key,
            "summary": outcome.plan_summary,
            "changes": [],
        }
    masked: dict[str, Any] = mask_fingerprints(document)
    # Secret values the run resolved never leave it, whatever field they ended up in.
    redacted: dict[str, Any] = json.loads(run.secrets.redact(json.dumps(masked)))
    return redacted


# --- renderers ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A value for a Markdown table cell."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(document: dict[str, Any]) -> str:
    """The run as Markdown: the outcome, stages, plan, checks and rollback (``summary.md``)."""
    run, outcome = document["run"], document["outcome"]
    mark = {"promoted": "✅", "nothing-to-do": "✅", "planned": "📝", "rolled-back": "↩️"}.get(
        outcome["status"], "❌"
    )
    lines = [
        f"## {mark} {run['pipeline']}: {outcome['status']} ({run['source']} → {run['target']})",
        "",
        f"{_cell(outcome['message'])}",
        "",
        f"- run `{run['id']}` by {run['user']} on {run['host']}, exit code **{outcome['exit_code']}**",
        f"- reason: {_cell(run['reason'] or '-')}",
        "- versions: " + ", ".join(f"`{k}` {v}" for k, v in run["versions"].items()),
        f"- duration: {run['duration']:.1f}s",
        "",
        "| stage | status | duration | plugin | result |",
        "|---|---|---:|---|---|",
    ]
    lines += [
        f"| {s['stage']} | {s['status']} | {s['duration']:.2f}s | {s['plugin'] or ''} | "
        f"{_cell('; '.join(s['messages']))} |"
        for s in document["stages"]
    ]
    plan = document["plan"]
    if plan is not None:
        counts = ", ".join(f"{n} {a}" for a, n in plan["summary"].items() if n) or "empty"
        lines += ["", f"### Plan for {plan['target']}: {counts}", ""]
        pending = [c for c in plan["changes"] if c["action"] != "unchanged"]
        if pending:
            lines += ["| action | object | changed fields |", "|---|---|---|"]
            for c in pending:
                fields = ", ".join(f"`{f['path']}`" for f in c["fields"]) or "-"
                lines.append(f"| {c['action']} | {c['kind']}:{_cell(c['key'])} | {fields} |")
    if document["gates"]:
        lines += ["", "### Gates", "", "| gate | verdict | reason |", "|---|---|---|"]
        lines += [
            f"| {g['gate']} | {'allowed' if g['allowed'] else '**blocked**'} | {_cell(g['reason'])} |"
            for g in document["gates"]
        ]
    if document["checks"]:
        lines += ["", "### Verification", "", "| check | result | message |", "|---|---|---|"]
        lines += [
            f"| {c['name']} | {'passed' if c['passed'] else '**FAILED**'} | {_cell(c['message'])} |"
            for c in document["checks"]
        ]
    rollback = document["rollback"]
    if rollback is not None:
        state = "complete" if rollback["complete"] else "**INCOMPLETE**"
        lines += ["", f"### Rollback: {state}", ""]
        lines += [f"- restored {r}" for r in rollback["restored"]]
        lines += [f"- differs: {_cell(d)}" for d in rollback["differences"]]
    return "\n".join(lines) + "\n"


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (a log line may carry escape codes)."""
    return _XML_ILLEGAL.sub("", text)


def _junit_time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def render_junit(document: dict[str, Any]) -> str:
    """Stages, gate verdicts and verification checks as JUnit test cases (``junit.xml``).

    The file follows the Ant JUnit report format that Jenkins, GitLab and the GitHub test-report
    actions read: ``<testsuites><testsuite ...><properties/><testcase/>...<system-out/>
    <system-err/></testsuite></testsuites>``, one ``<failure>`` per failed case (an interrupted stage
    is an ``<error>``).
    """
    run, outcome = document["run"], document["outcome"]
    cases: list[tuple[str, str, float, str | None, str, str]] = []
    # (classname, name, time, problem kind or None, message, details)
    prefix = f"promoter.{run['pipeline']}"
    for s in document["stages"]:
        problem = {"failed": "failure", "blocked": "failure", "interrupted": "error"}.get(
            s["status"]
        )
        cases.append(
            (
                f"{prefix}.stage",
                s["stage"],
                s["duration"],
                problem,
                "; ".join(s["messages"]),
                f"plugin: {s['plugin'] or '-'}",
            )
        )
    for g in document["gates"]:
        cases.append(
            (
                f"{prefix}.gate",
                g["gate"],
                0.0,
                None if g["allowed"] else "failure",
                g["reason"],
                g.get("hint") or "",
            )
        )
    for c in document["checks"]:
        seconds = c.get("details", {}).get("seconds")
        cases.append(
            (
                f"{prefix}.verify",
                c["name"],
                float(seconds) if isinstance(seconds, int | float) else 0.0,
                None if c["passed"] else "failure",
                c["message"],
                json.dumps(c.get("details", {}), indent=2, sort_keys=True),
            )
        )
    failures = sum(1 for case in cases if case[3] == "failure")
    errors = sum(1 for case in cases if case[3] == "error")
    timestamp = run["started_at"].replace("Z", "")[:19]  # the format's xs:dateTime, no zone
    suites = ElementTree.Element(
        "testsuites",
        name=prefix,
        tests=str(len(cases)),
        failures=str(failures),
        errors=str(errors),
        time=_junit_time(run["duration"]),
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=f"{prefix} {run['source']} -> {run['target']}",
        package=prefix,
        id="0",
        timestamp=timestamp,
        hostname=run["host"] or "localhost",
        tests=str(len(cases)),
        failures=str(failures),
        errors=str(errors),
        time=_junit_time(run["duration"]),
    )
    properties = ElementTree.SubElement(suite, "properties")
    for name, value in (
        ("run", run["id"]),
        ("status", outcome["status"]),
        ("exit_code", str(outcome["exit_code"])),
        ("source", run["source"]),
        ("target", run["target"]),
        ("user", run["user"]),
        ("reason", run["reason"] or ""),
    ):
        ElementTree.SubElement(properties, "property", name=name, value=xml_safe(value))
    for classname, name, seconds, problem, message, details in cases:
        case = ElementTree.SubElement(
            suite, "testcase", classname=classname, name=xml_safe(name), time=_junit_time(seconds)
        )
        if problem is not None:
            element = ElementTree.SubElement(
                case, problem, message=xml_safe(message or problem), type=f"promoter.{problem}"
            )
            element.text = xml_safe("\n".join(part for part in (message, details) if part))
    ElementTree.SubElement(suite, "system-out").text = xml_safe(
        f"{outcome['status']}: {outcome['message']} (exit {outcome['exit_code']})"
    )
    ElementTree.SubElement(suite, "system-err").text = ""
    ElementTree.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(suites, encoding="unicode")
        + "\n"
    )


# The timeline chart's geometry (SVG user units).
_CHART_LEFT = 110
_CHART_WIDTH = 620
_ROW_HEIGHT = 26
_STATUS_COLOURS = {
    "ok": "#2f9e44",
    "failed": "#e03131",
    "blocked": "#f08c00",
    "skipped": "#adb5bd",
    "interrupted": "#862e9c",
}


def timeline(document: dict[str, Any]) -> dict[str, Any]:
    """The stage timeline as chart geometry: one bar per stage, x scaled to the run's duration."""
    stages = document["stages"]
    total = max(
        [document["run"]["duration"], *(s["offset"] + s["duration"] for s in stages), 0.001]
    )
    scale = _CHART_WIDTH / total
    checks_failed = any(not c["passed"] for c in document["checks"])
    bars = []
    for i, s in enumerate(stages):
        x = _CHART_LEFT + s["offset"] * scale
        width = max(s["duration"] * scale, 2.0)
        # The verify stage itself runs fine when a check fails; the chart shows the failure.
        status = "failed" if s["stage"] == "verify" and checks_failed else s["status"]
        bars.append(
            {
                "stage": s["stage"],
                "status": status,
                "duration": s["duration"],
                "x": round(min(x, _CHART_LEFT + _CHART_WIDTH - 2), 1),
                "y": 10 + i * _ROW_HEIGHT,
                "width": round(width, 1),
                "height": _ROW_HEIGHT - 8,
                "colour": _STATUS_COLOURS.get(status, "#495057"),
                "label_x": round(min(x + width + 6, _CHART_LEFT + _CHART_WIDTH + 4), 1),
            }
        )
    ticks = []
    step = _tick_step(total)
    tick = 0.0
    while tick <= total + 1e-9:
        ticks.append({"x": round(_CHART_LEFT + tick * scale, 1), "label": f"{tick:g}s"})
        tick += step
    return {
        "width": _CHART_LEFT + _CHART_WIDTH + 80,
        "height": 30 + len(stages) * _ROW_HEIGHT,
        "left": _CHART_LEFT,
        "right": _CHART_LEFT + _CHART_WIDTH,
        "axis_y": 14 + len(stages) * _ROW_HEIGHT,
        "bars": bars,
        "ticks": ticks,
        "total": total,
    }


def _tick_step(total: float) -> float:
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if total / step <= 10:
            return float(step)
    return float(round(total / 10))


def template_dirs(cwd: Path | None = None) -> list[Path]:
    """Where ``report.html.j2`` is looked up: ``./templates`` (to override it), then the built-in."""
    here = Path(__file__).resolve()
    candidates = [
        (cwd or Path.cwd()) / "templates",
        here.parent.parent / "templates",  # installed wheel: promoter/templates
        here.parent.parent.parent / "templates",  # source checkout: <repo>/templates
    ]
    return [d for d in candidates if (d / TEMPLATE_NAME).is_file()]


def _shown(value: Any) -> Any:
    """What ``{{ value }}`` writes into the page: control characters and direction overrides made
    visible, as on a terminal (markup the template built itself is left as it is)."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def render_html(document: dict[str, Any], *, cwd: Path | None = None) -> str:
    """The run as one self-contained HTML page (``templates/report.html.j2``; no network).

    The template is rendered in Jinja2's sandbox with autoescaping: it may come from the working
    directory (``./templates`` overrides the built-in one), and every value in the document is data
    — a task name or a Talend message is escaped, never markup, never code.
    """
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    dirs = template_dirs(cwd)
    if not dirs:
        raise FileNotFoundError(
            f"{TEMPLATE_NAME} is missing: reinstall promoter, or put one in ./templates"
        )
    environment = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    environment.filters["tojson_compact"] = lambda value: json.dumps(value, sort_keys=True)
    return environment.get_template(TEMPLATE_NAME).render(
        doc=document, chart=timeline(document), colours=_STATUS_COLOURS
    )


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    # Non-ASCII names stay readable; control and invisible characters are \u escapes.
    "json": lambda document: (
        printable_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    ),
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}


@dataclass(frozen=True)
class ReportTarget:
    """Where a run's report files go, which formats, and the directory they must stay under."""

    directory: Path
    formats: list[str]
    confined_to: Path | None = None
    """The working directory, when ``directory`` comes from the pipeline file; ``None`` when the
    user chose it on the command line."""
    setting: str = "--report-dir"
    """Where ``directory`` was set, for messages."""


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}"


def confined(directory: Path, root: Path, *, setting: str) -> Path:
    """``directory``'s real path (symlinks resolved, relative to ``root``), or :class:`ReportError`
    when it is not under ``root``'s real path."""
    try:
        real_root = root.resolve()
        real = (root / directory).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ReportError(
            f"{setting}: {str(directory)!r} cannot be resolved: {_reason(exc)}",
            hint=f"remove the symlink loop, {_OVERRIDE_HINT}",
        ) from exc
    if not real.is_relative_to(real_root):
        raise ReportError(
            f"{setting}: {str(directory)!r} leads to {real}, outside the working directory "
            f"{real_root}; a report directory from the pipeline file must stay under it",
            hint=f"set {setting} to a relative path with no symlink leading out, {_OVERRIDE_HINT}",
        )
    return real


def _render_all(
    document: dict[str, Any], formats: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """``({format: text}, {format: why it failed})``. When a format cannot be rendered, the others
    say so in their stage list: ``run.json`` readers see the failed report stage."""
    rendered: dict[str, str] = {}
    failed: dict[str, str] = {}
    for fmt in formats:
        try:
            rendered[fmt] = RENDERERS[fmt](document)
        except Exception as exc:  # a broken template or renderer must not stop the other formats
            failed[fmt] = f"{FILES[fmt]} not rendered: {_reason(exc)}"
    if failed and rendered:
        noted = dict(document, stages=[*document["stages"], _failed_stage(document, failed)])
        for fmt in rendered:
            with contextlib.suppress(Exception):  # rendered once already: keep that, at worst
                rendered[fmt] = RENDERERS[fmt](noted)
    return rendered, failed


def _failed_stage(document: dict[str, Any], failed: dict[str, str]) -> dict[str, Any]:
    now = datetime.now(UTC)
    started = datetime.fromisoformat(document["run"]["started_at"].replace("Z", "+00:00"))
    return {
        "stage": "report",
        "status": "failed",
        "started_at": _iso(now),
        "offset": round(max(0.0, (now - started).total_seconds()), 3),
        "duration": 0.0,
        "plugin": "reports",
        "messages": list(failed.values()),
    }


def write_reports(
    directory: Path,
    document: dict[str, Any],
    formats: list[str],
    redact: Callable[[str], str],
    *,
    confined_to: Path | None = None,
    setting: str = "--report-dir",
) -> list[Path]:
    """Write ``formats`` of ``document`` into ``directory``; the paths written.

    With ``confined_to``, ``directory`` and every file must resolve under it (checked before the
    directory is created, after, and for each file: a symlink cannot lead the files out). Every
    format is attempted; when any fails, :class:`ReportError` says which and why, and lists the
    files that were written (as ``directory / name``: the real path is only where they go).
    """
    shown = directory
    if confined_to is not None:
        directory = confined(directory, confined_to, setting=setting)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"cannot create the report directory {shown}: {_reason(exc)}; "
            "no report file was written",
            hint=f"make it writable, {_OVERRIDE_HINT}",
        ) from exc
    if confined_to is not None:
        directory = confined(directory, confined_to, setting=setting)
    rendered, failed = _render_all(document, formats)
    written: list[Path] = []
    for fmt, text in rendered.items():
        path = directory / FILES[fmt]
        try:
            if confined_to is not None:
                confined(path, confined_to, setting=setting)
            path.write_text(redact(text), encoding="utf-8")
        except (OSError, ReportError) as exc:
            why = exc.message if isinstance(exc, ReportError) else _reason(exc)
            failed[fmt] = f"{FILES[fmt]} not written: {why}"
            continue
        written.append(shown / FILES[fmt])
    if failed:
        problems = "; ".join(failed[fmt] for fmt in formats if fmt in failed)
        done = ", ".join(p.name for p in written) or "none"
        raise ReportError(
            f"report files in {shown}: {problems} (written: {done})",
            hint=f"fix the cause, {_OVERRIDE_HINT}",
            written=written,
        )
    return written


def report_directory(run: RunContext, cwd: Path | None = None) -> ReportTarget | None:
    """Where this run's reports go and which formats, or ``None`` when none are configured.

    A directory from the command line (``--report-dir``, ``PROMOTER_REPORT_DIR``) is taken as it
    is; one from the pipeline file must stay under the working directory (``cwd``, default the
    current one).
    """
    chosen = run.options.extra.get("report_dir")
    if chosen:
        return ReportTarget(Path(str(chosen)), list(FILES))
    config = run.pipeline.reports
    if not config.formats:
        return None
    return ReportTarget(
        Path(config.dir) / run.run_id,
        list(dict.fromkeys(config.formats)),
        confined_to=cwd or Path.cwd(),
        setting=f"reports.dir in {run.loaded.display}",
    )


@hookimpl(trylast=True)
def promoter_report(run: RunContext, outcome: RunOutcome) -> None:
    """Write the run's report files, and append the summary to ``$GITHUB_STEP_SUMMARY``.

    Raises :class:`ReportError` when a file could not be written (after trying every one): the
    engine records the report stage as failed, and the console says why.
    """
    where = report_directory(run)
    step_summary = os.environ.get(STEP_SUMMARY_ENV)
    if where is None and not step_summary:
        return
    document = build_document(run, outcome)
    problems: list[ReportError] = []
    if where is not None:
        try:
            written = write_reports(
                where.directory,
                document,
                where.formats,
                run.secrets.redact,
                confined_to=where.confined_to,
                setting=where.setting,
            )
        except ReportError as error:
            problems.append(error)
            written = error.written
        if written:
            run.state["report_files"] = [str(p) for p in written]
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as summary:
                summary.write(run.secrets.redact(render_markdown(document)) + "\n")
        except OSError as exc:
            problems.append(
                ReportError(
                    f"cannot append the summary to {STEP_SUMMARY_ENV} ({step_summary}): "
                    f"{_reason(exc)}",
                    hint=f"check that {STEP_SUMMARY_ENV} names a writable file",
                )
            )
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ReportError(
            "; ".join(p.message for p in problems),
            hint=" / ".join(p.hint for p in problems if p.hint) or None,
            written=[path for p in problems for path in p.written],
        )


__all__ = [
    "FILES",
    "SCHEMA_VERSION",
    "ReportError",
    "ReportTarget",
    "RunCapture",
    "build_document",
    "confined",
    "render_html",
    "render_junit",
    "render_markdown",
    "report_directory",
    "timeline",
    "write_reports",
]
