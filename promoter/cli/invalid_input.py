"""Reports for a command that stopped before its run began: invalid input, mostly.

A CI job publishes ``junit.xml`` and ``summary.md`` from its report directory whatever happened;
when ``promote`` or ``plan`` refuse their input (an invalid pipeline file, an unknown ``--var``,
a target the file does not have), no run starts and the reports plugin writes nothing. This
module writes the two files the CI recipe reads (docs/ci.md), with one failing test case that
says what was wrong, so that the job's test report shows the reason instead of "no file found".

The files have the shape of the reports plugin's (:mod:`promoter.builtins.reports`): the same
Ant JUnit format (``<testsuites><testsuite ...><properties/><testcase/><system-out/>
<system-err/></testsuite></testsuites>``) and a Markdown summary. The message is an error
promoter wrote — already without secret values — and still goes through
:func:`promoter.terminal.printable`, like everything shown; XML-forbidden characters are dropped.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from promoter.errors import PipelineError, PromoterError
from promoter.terminal import printable

JUNIT_FILE = "junit.xml"
SUMMARY_FILE = "summary.md"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class InvalidInput:
    """What stopped a command before its run began, as the reports tell it."""

    command: str
    """``promote`` or ``plan``."""
    file: str
    """The pipeline file as the user gave it."""
    error: PromoterError
    step: str = "load"
    """``load`` (reading the pipeline file: its template, YAML, keys, ``--var`` names) or
    ``start`` (anything else before the run: flags, plugins, the target, its lock)."""

    @property
    def case(self) -> tuple[str, str]:
        """``(classname, name)`` of the failing test case: ``promoter.pipeline``/``load`` for the
        pipeline file, ``promoter.run``/``start`` for the rest."""
        if self.step == "load" or isinstance(self.error, PipelineError):
            return "promoter.pipeline", "load"
        return "promoter.run", "start"

    @property
    def message(self) -> str:
        """The error's message: with an invalid pipeline, its ``file:line: key: message``
        problems, one per line."""
        return printable(self.error.message)

    @property
    def hint(self) -> str | None:
        """What to do next."""
        return printable(self.error.hint) if self.error.hint else None


def _xml(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def render_junit(report: InvalidInput, now: datetime | None = None) -> str:
    """One test suite with one failing test case (see :attr:`InvalidInput.case`)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    classname, name = report.case
    code = str(int(report.error.exit_code))
    suites = ElementTree.Element(
        "testsuites", name=classname, tests="1", failures="1", errors="0", time="0.000"
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=_xml(printable(f"{classname} {report.file}", one_line=True)),
        package=classname,
        id="0",
        timestamp=moment.strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=socket.gethostname() or "localhost",
        tests="1",
        failures="1",
        errors="0",
        time="0.000",
    )
    properties = ElementTree.SubElement(suite, "properties")
    for key, value in (
        ("command", report.command),
        ("file", printable(report.file, one_line=True)),
        ("status", "invalid-input" if code == "2" else "not-started"),
        ("exit_code", code),
    ):
        ElementTree.SubElement(properties, "property", name=key, value=_xml(value))
    case = ElementTree.SubElement(suite, "testcase", classname=classname, name=name, time="0.000")
    failure = ElementTree.SubElement(
        case,
        "failure",
        message=_xml(printable(report.error.message, one_line=True)),
        type="promoter.failure",
    )
    failure.text = _xml(
        report.message + (f"\nhint: {report.hint}" if report.hint else "")
    )
    ElementTree.SubElement(suite, "system-out").text = _xml(
        f"{report.command} {printable(report.file, one_line=True)}: nothing was written "
        f"(exit {code})"
    )
    ElementTree.SubElement(suite, "system-err").text = ""
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        suites, encoding="unicode"
    ) + "\n"


def render_summary(report: InvalidInput) -> str:
    """The Markdown summary: what failed, the message verbatim (in a code block), the hint."""
    code = int(report.error.exit_code)
    what = "invalid input" if code == 2 else "the run did not start"
    longest = max((len(m) for m in re.findall("`+", report.message)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [
        f"## promoter {report.command}: {what}",
        "",
        f"**exit {code}** — `{printable(report.file, one_line=True).replace('`', chr(39))}`: "
        "nothing was written.",
        "",
        fence,
        report.message,
        fence,
    ]
    if report.hint:
        lines += ["", f"Next: {report.hint}"]
    return "\n".join(lines) + "\n"


def write_invalid_input_reports(directory: Path, report: InvalidInput) -> list[Path]:
    """Write ``junit.xml`` and ``summary.md`` into ``directory`` (created if needed), and append
    the summary to ``$GITHUB_STEP_SUMMARY`` when it is set; the paths written.

    Raises :class:`OSError` when the directory or a file cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    summary = render_summary(report)
    written = []
    for name, text in ((JUNIT_FILE, render_junit(report)), (SUMMARY_FILE, summary)):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    step_summary = os.environ.get(STEP_SUMMARY_ENV)
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary + "\n")
    return written


__all__ = [
    "InvalidInput",
    "render_junit",
    "render_summary",
    "write_invalid_input_reports",
]
