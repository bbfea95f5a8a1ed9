"""Built-in report writer: the run's outcome as JSON, JUnit XML, Markdown and HTML files.

Writes ``<reports.dir>/<run id>.<ext>`` (relative to the working directory) for each format in the
pipeline's ``reports.formats``. Verification checks become JUnit test cases, so CI systems show them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

from promoter.hookspecs import hookimpl
from promoter.run import RunContext, RunOutcome


def render_markdown(run: RunContext, outcome: RunOutcome) -> str:
    """The outcome as a Markdown document."""
    lines = [
        f"# {run.pipeline.name}: {outcome.status.value}",
        "",
        f"- run: `{outcome.run_id}`",
        f"- from `{run.source}` to `{run.target}` by {run.user}",
        f"- reason: {run.reason or '-'}",
        f"- exit code: {outcome.exit_code}",
        f"- {outcome.message}",
        "",
        "| stage | status | duration | plugin |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {s.stage} | {s.status.value} | {s.duration:.2f}s | {s.plugin or ''} |"
        for s in outcome.stages
    ]
    if outcome.plan_summary:
        lines += ["", "Plan: " + ", ".join(f"{n} {a}" for a, n in outcome.plan_summary.items())]
    if outcome.checks:
        lines += ["", "| check | passed | message |", "|---|---|---|"]
        lines += [
            f"| {c.name} | {'yes' if c.passed else 'NO'} | {c.message} |" for c in outcome.checks
        ]
    return "\n".join(lines) + "\n"


def render_junit(run: RunContext, outcome: RunOutcome) -> str:
    """Stages and checks as JUnit test cases."""
    suite = ElementTree.Element(
        "testsuite",
        name=f"promoter.{run.pipeline.name}",
        tests=str(len(outcome.stages) + len(outcome.checks)),
    )
    failures = 0
    for stage in outcome.stages:
        case = ElementTree.SubElement(
            suite, "testcase", classname="stage", name=stage.stage, time=f"{stage.duration:.3f}"
        )
        if stage.status.value == "failed":
            failures += 1
            ElementTree.SubElement(case, "failure", message="; ".join(stage.messages))
    for check in outcome.checks:
        case = ElementTree.SubElement(suite, "testcase", classname="verify", name=check.name)
        if not check.passed:
            failures += 1
            ElementTree.SubElement(case, "failure", message=check.message)
    suite.set("failures", str(failures))
    return ElementTree.tostring(suite, encoding="unicode") + "\n"


def render_html(run: RunContext, outcome: RunOutcome) -> str:
    """A minimal standalone HTML page."""
    rows = "".join(
        f"<tr><td>{html.escape(s.stage)}</td><td>{s.status.value}</td>"
        f"<td>{s.duration:.2f}s</td><td>{html.escape(s.plugin or '')}</td></tr>"
        for s in outcome.stages
    )
    return (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(run.pipeline.name)}</title>"
        f"<h1>{html.escape(run.pipeline.name)}: {outcome.status.value}</h1>"
        f"<p>{html.escape(outcome.message)}</p>"
        f"<table><tr><th>stage</th><th>status</th><th>duration</th><th>plugin</th></tr>{rows}</table>\n"
    )


@hookimpl(trylast=True)
def promoter_report(run: RunContext, outcome: RunOutcome) -> None:
    """Write the configured report files."""
    config = run.pipeline.reports
    if not config.formats:
        return
    directory = Path(config.dir)
    directory.mkdir(parents=True, exist_ok=True)
    renderers: dict[str, tuple[str, Callable[[], str]]] = {
        "json": ("json", lambda: outcome.model_dump_json(indent=2)),
        "markdown": ("md", lambda: render_markdown(run, outcome)),
        "junit": ("junit.xml", lambda: render_junit(run, outcome)),
        "html": ("html", lambda: render_html(run, outcome)),
    }
    for fmt in config.formats:
        ext, render = renderers[fmt]
        (directory / f"{outcome.run_id}.{ext}").write_text(
            run.secrets.redact(render()), encoding="utf-8"
        )
