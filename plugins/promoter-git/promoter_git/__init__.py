"""promoter-git: the source commit of every promoted artifact, and a promotion changelog.

Configured by the pipeline's ``git:`` section; without it the plugin does nothing::

    git:
      changelog: CHANGELOG-promotions.md   # relative to the pipeline file (this is the default)
      require_commit: false                # true: refuse artifacts published without a commit

Talend artifact versions published from a Git repository carry it (``repository: {project,
branch, commit: {id, date, author}}``); the plan's metadata lists it per artifact. Before anything
is written, the ``git:provenance`` gate records the commit of each promoted artifact in the ledger
(and with ``require_commit`` refuses an artifact without one). After a successful promotion, a
changelog entry — target, run, who, why, and each artifact's version and commit — is added at the
top of the changelog file, ready to be committed next to the pipeline.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ConfigDict, Field

from promoter import GateDecision, Plan, RunContext, RunOutcome, RunStatus, hookimpl

__version__ = "0.1.0"

GATE = "git:provenance"
STATE_KEY = "git"
HEADER = (
    "# Promotions\n\nNewest first; each entry is added by promoter-git after a successful run.\n"
)


class GitSection(BaseModel):
    """The ``git:`` pipeline section."""

    model_config = ConfigDict(extra="forbid")

    changelog: str = Field(
        default="CHANGELOG-promotions.md",
        min_length=1,
        description="The changelog file, relative to the pipeline file.",
    )
    require_commit: bool = Field(
        default=False, description="Refuse to promote an artifact version without a source commit."
    )


@dataclass(frozen=True)
class SourceCommit:
    """Where a promoted artifact version was built from."""

    artifact: str
    version: str
    project: str | None = None
    branch: str | None = None
    commit: str | None = None
    author: str | None = None
    date: str | None = None

    def describe(self) -> str:
        """``finance_daily_load 0.3.0 from DATA_PLATFORM@main commit abc123 by dev (date)``."""
        if not self.commit:
            return f"{self.artifact} {self.version}: no source commit"
        where = "@".join(p for p in (self.project, self.branch) if p)
        text = f"{self.artifact} {self.version} from {where or 'a repository'} commit {self.commit}"
        if self.author:
            text += f" by {self.author}"
        return text + (f" ({self.date})" if self.date else "")


def source_commits(plan: Plan) -> list[SourceCommit]:
    """The source commit of each artifact version the plan promotes (from its metadata)."""
    versions = plan.versions
    repositories: dict[str, Any] = plan.metadata.get("repositories") or {}
    commits = []
    for artifact in sorted(versions):
        repository = repositories.get(artifact) or {}
        commit = repository.get("commit") or {}
        if not isinstance(commit, dict):  # an older wire format: the id alone
            commit = {"id": commit}
        commits.append(
            SourceCommit(
                artifact=artifact,
                version=str(versions[artifact]),
                project=repository.get("project"),
                branch=repository.get("branch"),
                commit=commit.get("id"),
                author=commit.get("author"),
                date=commit.get("date"),
            )
        )
    return commits


def provenance_decision(run: RunContext, plan: Plan) -> GateDecision | None:
    """``git:provenance``: record the commits (and refuse missing ones when required)."""
    section = run.section_as("git", GitSection)
    if section is None:
        return None
    commits = source_commits(plan)
    run.state[STATE_KEY] = commits
    missing = [c.artifact for c in commits if not c.commit]
    reason = "; ".join(c.describe() for c in commits) or "no artifact versions in the plan"
    if missing and section.require_commit:
        return GateDecision(
            gate=GATE,
            allowed=False,
            reason=reason,
            hint=f"publish {', '.join(missing)} from a Git repository, or set "
            "git.require_commit: false",
        )
    return GateDecision(gate=GATE, allowed=True, reason=reason)


def changelog_entry(
    run: RunContext, outcome: RunOutcome, commits: list[SourceCommit], now: datetime
) -> str:
    """One Markdown changelog entry for a successful promotion."""
    lines = [
        f"## {now:%Y-%m-%d %H:%M} UTC · {run.pipeline.name} → {run.target}",
        "",
        f"- run `{outcome.run_id}` by {run.user}"
        + (f"; reason: {run.reason}" if run.reason else ""),
    ]
    if outcome.plan_summary:
        summary = ", ".join(
            f"{n} {a}" for a, n in outcome.plan_summary.items() if n and a != "unchanged"
        )
        lines.append(f"- plan: {summary or 'no change'}")
    for c in commits:
        if c.commit:
            where = "@".join(p for p in (c.project, c.branch) if p) or "repository"
            detail = f"{where}, commit `{c.commit}`"
            if c.author:
                detail += f" by {c.author}"
            if c.date:
                detail += f", {c.date}"
        else:
            detail = "no source commit recorded"
        lines.append(f"- `{c.artifact}` {c.version} — {detail}")
    if not commits:
        lines.append("- source commits not known (a resumed run)")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock next to ``path``: two runs never interleave their entries."""
    lock = path.with_name(f".{path.name}.lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def add_entry(path: Path, entry: str) -> None:
    """Add ``entry`` at the top of the changelog (after its header), creating the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        text = path.read_text(encoding="utf-8") if path.exists() else HEADER
        head, sep, rest = text.partition("\n## ")
        body = f"{head.rstrip()}\n\n{entry}"
        if sep:
            body += f"\n## {rest}"
        path.write_text(body, encoding="utf-8")


@hookimpl
def promoter_register_pipeline_sections(register: Callable[[str, type[BaseModel]], None]) -> None:
    """The ``git:`` section."""
    register("git", GitSection)


@hookimpl
def promoter_gate(run: RunContext, plan: Plan) -> GateDecision | None:
    """Record the promoted artifacts' source commits (``git:provenance``)."""
    return provenance_decision(run, plan)


@hookimpl
def promoter_report(run: RunContext, outcome: RunOutcome) -> None:
    """After a successful promotion, add an entry to the changelog."""
    section = run.section_as("git", GitSection)
    if section is None or outcome.status is not RunStatus.PROMOTED:
        return
    commits: list[SourceCommit] = run.state.get(STATE_KEY) or []
    path = run.pipeline_path.parent / section.changelog
    entry = changelog_entry(run, outcome, commits, datetime.now(UTC))
    add_entry(path, run.secrets.redact(entry))
    click.echo(f"  git: changelog entry added to {path}", err=True)


__all__ = [
    "GitSection",
    "SourceCommit",
    "add_entry",
    "changelog_entry",
    "provenance_decision",
    "source_commits",
]
