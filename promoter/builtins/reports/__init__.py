"""Built-in report writer: what a run did, as ``run.json``, ``junit.xml``, ``summary.md`` and
``report.html``, for CI systems, job summaries and auditors.

Where the files go:

- ``promoter promote ... --report-dir DIR`` (or ``PROMOTER_REPORT_DIR``): all four files, directly
  in ``DIR`` (fixed names, so a CI job can pick them up);
- otherwise the pipeline's ``reports:`` section: the formats listed in ``reports.formats``, in
  ``<reports.dir>/<run id>/`` (relative to the working directory), one directory per run — except
  for a dry run (``promoter plan``, ``promote --dry-run``), which writes report files only where
  it is told to (``--report-dir``, ``PROMOTER_REPORT_DIR``): planning leaves no directory behind;
- a later ``promoter rollback RUN`` writes its own reports in ``rollback-<n>/`` inside the
  promotion's report directory (``n`` = 1, 2...: the first free one), so that the promotion's own
  files are never overwritten.

A directory from the command line is the user's choice. One from the pipeline file — written by
whoever can open a pull request — must stay under the working directory: its real path (symlinks
resolved) is checked when the files are written, and a directory outside is refused. A report that
cannot be written fails the report stage (recorded in the run's stages, shown by the console) but
does not change the run's exit code: the promotion itself is what the code reports.

When ``GITHUB_STEP_SUMMARY`` is set (GitHub Actions), ``summary.md`` is also appended to it.

Every report is built from one document, :func:`~.document.build_document` — ``run.json``, whose
versioned schema is published as ``docs/schemas/run-v1.json`` (:mod:`.document`); the formats
render it (:mod:`.formats`). Secrets never reach it: secret values the run
resolved are redacted, and secret fingerprints (``secret:sha256:...``) read ``(secret)``.
Disable the plugin with ``PROMOTER_DISABLE_PLUGINS=reports``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from promoter import ObjectProgress, PromoterError, RunContext, RunOutcome, hookimpl
from promoter.builtins.reports.document import build_document, capture, iso_time
from promoter.builtins.reports.formats import RENDERERS, render_markdown

REPORT_DIR_ENV = "PROMOTER_REPORT_DIR"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

FILES: dict[str, str] = {
    "json": "run.json",
    "junit": "junit.xml",
    "markdown": "summary.md",
    "html": "report.html",
}
"""Report format (as named in ``reports.formats``) -> file name."""

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


@hookimpl
def promoter_run_started(run: RunContext) -> None:
    """Start the run's clock for the timeline."""
    capture(run)


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
        "started_at": iso_time(now),
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
    current one), and is not used by a dry run. A rollback's reports go to ``rollback-<n>/``
    inside the directory (:func:`rollback_directory_name`).
    """
    chosen = run.options.extra.get("report_dir")
    config = run.pipeline.reports
    if chosen:
        where = ReportTarget(Path(str(chosen)), list(FILES))
    elif run.dry_run or not config.formats:
        # A plan writes no file unless told where: `promoter plan` leaves no directory behind.
        return None
    else:
        where = ReportTarget(
            Path(config.dir) / run.run_id,
            list(dict.fromkeys(config.formats)),
            confined_to=cwd or Path.cwd(),
            setting=f"reports.dir in {run.loaded.display}",
        )
    if run.command == "rollback":
        # Same run id, same directory as the promotion: its files stay, the rollback's go aside.
        base = where.directory if where.confined_to is None else where.confined_to / where.directory
        where = replace(where, directory=where.directory / rollback_directory_name(base))
    return where


ROLLBACK_DIR_PREFIX = "rollback-"


def rollback_directory_name(base: Path) -> str:
    """``rollback-<n>``: the first of ``rollback-1``, ``rollback-2``... not yet in ``base``."""
    n = 1
    while (base / f"{ROLLBACK_DIR_PREFIX}{n}").exists():
        n += 1
    return f"{ROLLBACK_DIR_PREFIX}{n}"


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
    "ReportError",
    "ReportTarget",
    "confined",
    "report_directory",
    "rollback_directory_name",
    "write_reports",
]
