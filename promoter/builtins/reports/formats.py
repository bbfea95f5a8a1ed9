"""The report formats, each rendered from the one ``run.json`` document: ``summary.md``
(Markdown, for job summaries), ``junit.xml`` (each stage, gate and check a test case) and
``report.html`` (one self-contained page with an SVG timeline; no network).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from promoter.terminal import printable, printable_json

TEMPLATE_NAME = "report.html.j2"


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
        "- versions: "
        + (", ".join(f"`{k}` {v}" for k, v in run["versions"].items()) or no_versions(run)),
        f"- target now: {_cell(_target_summary(document))}",
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
        for failed in failed_checks(document):
            lines += ["", f"**{_cell(failed['name'])}** failed{_cell(failed['where'])}", ""]
            if failed["lines"]:
                fence = _fence(failed["lines"])
                lines += [fence + "text", *failed["lines"], fence, ""]
            if failed["command"]:
                lines.append(f"Full log: `{_cell(failed['command'])}`")
    rollback = document["rollback"]
    if rollback is not None:
        state = "complete" if rollback["complete"] else "**INCOMPLETE**"
        lines += ["", f"### Rollback: {state}", ""]
        lines += [f"- {_cell(_effect_words(e))}" for e in rollback_effects(rollback)]
        lines += [f"- differs: {_cell(d)}" for d in rollback["differences"]]
    return "\n".join(lines) + "\n"


def no_versions(run: dict[str, Any]) -> str:
    """What stands for the versions of a run without a plan."""
    if run["command"] == "rollback":
        return "- (a rollback restores the snapshot; the promotion's reports name its versions)"
    return "- (the run stopped before a plan resolved them)"


def _target_summary(document: dict[str, Any]) -> str:
    state = document.get("target_state")
    return str(state["summary"]) if isinstance(state, dict) else "-"


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in ``lines`` (a log line cannot close it)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


EFFECT_WORDS = {
    "removed": "removed {object} (the run had created it)",
    "re-created": "re-created {object} (the run had deleted it)",
    "restored": "restored {object} to its state before the run",
}


def _effect_words(effect: dict[str, str]) -> str:
    return EFFECT_WORDS.get(effect["effect"], EFFECT_WORDS["restored"]).format(
        object=effect["object"]
    )


def rollback_effects(rollback: dict[str, Any]) -> list[dict[str, str]]:
    """The rollback's ``effects`` (``restored`` for every object of a document without them)."""
    effects = rollback.get("effects")
    if isinstance(effects, list):
        return effects
    return [{"object": r, "effect": "restored"} for r in rollback["restored"]]


def failed_checks(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The failed checks with the evidence they point at: ``name``, ``message``, ``execution``,
    ``where`` (``: execution <id>`` or empty), ``lines`` (the last ERROR lines, printable, one
    line each; or why they could not be read), ``command`` (``promoter logs <id>``)."""
    found = []
    for check in document["checks"]:
        if check["passed"]:
            continue
        details = check.get("details") or {}
        execution = details.get("executionId")
        lines = details.get("errorLines")
        if not isinstance(lines, list):
            why = details.get("errorLinesUnavailable")
            lines = [why] if isinstance(why, str) else []
        command = details.get("logs")
        found.append(
            {
                "name": check["name"],
                "message": check["message"],
                "execution": execution if isinstance(execution, str) else None,
                "where": f": execution {execution}" if isinstance(execution, str) else "",
                "lines": [printable(str(line), one_line=True) for line in lines],
                "command": command if isinstance(command, str) else None,
            }
        )
    return found


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
    is an ``<error>``). The element's ``type`` is the stage's status as every other output says
    it — ``promoter.failed``, ``promoter.blocked``, ``promoter.interrupted`` — so that a blocked
    gate and a failed check stay told apart.
    """
    run, outcome = document["run"], document["outcome"]
    cases: list[tuple[str, str, float, str | None, str, str, str]] = []
    # (classname, name, time, problem kind or None, status, message, details)
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
                s["status"],
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
                "ok" if g["allowed"] else "blocked",
                g["reason"],
                g.get("hint") or "",
            )
        )
    evidence = {f["name"]: f for f in failed_checks(document)}
    for c in document["checks"]:
        seconds = c.get("details", {}).get("seconds")
        found = evidence.get(c["name"]) if not c["passed"] else None
        shown = [*found["lines"]] if found else []
        if found and found["command"]:
            shown.append(f"full log: {found['command']}")
        cases.append(
            (
                f"{prefix}.verify",
                c["name"],
                float(seconds) if isinstance(seconds, int | float) else 0.0,
                None if c["passed"] else "failure",
                "ok" if c["passed"] else "failed",
                c["message"],
                "\n".join([*shown, json.dumps(c.get("details", {}), indent=2, sort_keys=True)]),
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
    for classname, name, seconds, problem, status, message, details in cases:
        case = ElementTree.SubElement(
            suite, "testcase", classname=classname, name=xml_safe(name), time=_junit_time(seconds)
        )
        if problem is not None:
            element = ElementTree.SubElement(
                case, problem, message=xml_safe(message or status), type=f"promoter.{status}"
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
    bars = []
    for i, s in enumerate(stages):
        x = _CHART_LEFT + s["offset"] * scale
        width = max(s["duration"] * scale, 2.0)
        status = s["status"]  # the stage's own status: a failed check made verify ``failed``
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
        here.parents[2] / "templates",  # installed wheel: promoter/templates
        here.parents[3] / "templates",  # source checkout: <repo>/templates
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

    The template is rendered in promoter's Jinja2 sandbox, within its limits, with autoescaping:
    it may come from the working directory (``./templates`` overrides the built-in one), and every value in the document is data
    — a task name or a Talend message is escaped, never markup, never code.
    """
    import jinja2

    from promoter.pipeline.templating import render, sandboxed_environment

    dirs = template_dirs(cwd)
    if not dirs:
        raise FileNotFoundError(
            f"{TEMPLATE_NAME} is missing: reinstall promoter, or put one in ./templates"
        )
    environment = sandboxed_environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    environment.filters["tojson_compact"] = lambda value: json.dumps(value, sort_keys=True)
    environment.filters["breakable"] = breakable
    environment.globals["no_versions"] = no_versions
    return render(
        environment.get_template(TEMPLATE_NAME),
        {
            "doc": document,
            "chart": timeline(document),
            "colours": _STATUS_COLOURS,
            "failed_checks": failed_checks(document),
            "rollback_effects": (
                rollback_effects(document["rollback"]) if document["rollback"] else []
            ),
        },
    )


_SEPARATORS = re.compile(r"([/@:._=,-])")


def breakable(value: Any) -> Any:
    """``value`` for HTML, escaped and printable, with a ``<wbr>`` after each separator
    (``/ @ : . _ = , -``): a long object name wraps at its separators, never inside a token."""
    from markupsafe import Markup, escape

    # Escaped first: an entity (&amp; &#39;) holds none of the separators, so no <wbr> lands in one.
    text = str(escape(printable(value, one_line=True)))
    return Markup(_SEPARATORS.sub(r"\1<wbr>", text))


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    # Non-ASCII names stay readable; control and invisible characters are \u escapes.
    "json": lambda document: (
        printable_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    ),
    "junit": render_junit,
    "markdown": render_markdown,
    "html": render_html,
}
