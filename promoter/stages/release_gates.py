"""Release gates that read the plan: no version downgrade, and approval for named targets.

Built-in plugin ``release-gates``. Both gates run on every promotion that has something to write
(also one applying a reviewed plan file), and the engine records each decision in the ledger
(``promoter show RUN`` lists them).

**No downgrade** (``gates.no_downgrade``, on by default): a task that would run an older version
of its artifact than it runs on the target now blocks the promotion, unless ``--allow-downgrade``
is passed. Talend versions look like ``0.3.0.20261031080000``: the dotted numbers compare first,
then the publication timestamp (see :func:`compare_versions`).

**Approval** (``approval: required`` on a target): the promotion goes ahead only with
``--approve`` (the approver recorded is ``--approver NAME``, or the user running promoter), or
when ``gates.approval_file`` lists an approval of this pipeline, target and exact versions::

    approvals:
      - pipeline: finance-release
        target: prod                      # or prod/Finance
        versions:
          finance_daily_load: 0.3.0.20261031080000
          finance_ledger_sync: 1.1.0.20261102080000
        approver: alice
        expires: 2026-12-31T00:00:00Z     # optional
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from promoter.hookspecs import hookimpl
from promoter.run import ChangeAction, GateDecision, Plan, RunContext

ALLOW_DOWNGRADE = "allow_downgrade"
APPROVE = "approve"
APPROVER = "approver"

_SEPARATORS = re.compile(r"[.\-_+]")
_TIMESTAMP_DIGITS = 12
"""A last dotted part of at least this many digits is a publication timestamp, not a number."""


# --- versions -------------------------------------------------------------------------------------


def _version_key(version: str) -> tuple[list[tuple[int, int, str]], int]:
    parts = [p for p in _SEPARATORS.split(version.strip()) if p]
    timestamp = 0
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) >= _TIMESTAMP_DIGITS:
        timestamp = int(parts.pop())
    # A qualifier (SNAPSHOT, rc1) ranks below the release it qualifies: 1.0.0-rc1 < 1.0.0.
    release = [(0, int(p), "") if p.isdigit() else (-1, 0, p) for p in parts]
    return release, timestamp


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Talend version ``a`` is older than, the same as, or newer than ``b``.

    The dotted numeric prefix compares first, number by number (``0.10.0`` is newer than
    ``0.9.0``; missing numbers count as 0), then the timestamp Talend appends when it publishes
    (``0.3.0.20261031080000``). A non-numeric part (``1.0.0-SNAPSHOT``) ranks below the plain
    release.
    """
    release_a, stamp_a = _version_key(a)
    release_b, stamp_b = _version_key(b)
    width = max(len(release_a), len(release_b))
    padding = (0, 0, "")
    key_a = (release_a + [padding] * (width - len(release_a)), stamp_a)
    key_b = (release_b + [padding] * (width - len(release_b)), stamp_b)
    return (key_a > key_b) - (key_a < key_b)


def downgrades(plan: Plan) -> list[tuple[str, str, str, str]]:
    """``(task, artifact, version now, version planned)`` for each task the plan moves back."""
    found = []
    for change in plan.changes:
        if change.kind != "task" or change.action is not ChangeAction.UPDATE:
            continue
        before = (change.before or {}).get("artifact") or {}
        after = (change.after or {}).get("artifact") or {}
        old, new = before.get("version"), after.get("version")
        if not (isinstance(old, str) and isinstance(new, str)):
            continue
        if before.get("name") != after.get("name"):
            continue  # another artifact: versions do not compare
        if compare_versions(new, old) < 0:
            found.append((change.key, str(after.get("name")), old, new))
    return found


def no_downgrade(run: RunContext, plan: Plan) -> GateDecision | None:
    """Refuse to move a task to an older artifact version, unless ``--allow-downgrade``."""
    if not run.pipeline.gates.no_downgrade:
        return None
    found = downgrades(plan)
    if not found:
        return GateDecision(
            gate="no-downgrade", allowed=True, reason="no task moves to an older version"
        )
    listed = "; ".join(f"{task!r}: {name} {old} -> {new}" for task, name, old, new in found)
    if run.options.extra.get(ALLOW_DOWNGRADE):
        return GateDecision(
            gate="no-downgrade",
            allowed=True,
            reason=f"downgrade allowed by --allow-downgrade ({run.user}): {listed}",
        )
    return GateDecision(
        gate="no-downgrade",
        allowed=False,
        reason=f"{len(found)} task(s) would run an older version: {listed}",
        hint="pass --allow-downgrade if this is intended (e.g. reverting a release)",
    )


# --- approvals ------------------------------------------------------------------------------------


class Approval(BaseModel):
    """One approval in an approval file: this pipeline, to this target, with these versions."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field(min_length=1)
    target: str = Field(min_length=1)
    """The target environment (``prod``), or environment/workspace (``prod/Finance``)."""
    versions: dict[str, str] = Field(min_length=1)
    """Artifact name -> the exact version approved; must cover every artifact promoted."""
    approver: str = Field(min_length=1)
    expires: datetime | None = None
    comment: str | None = None

    @field_validator("expires")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and not value.tzinfo else value

    @field_validator("versions", mode="before")
    @classmethod
    def _text_versions(cls, value: Any) -> Any:
        # YAML reads 1.0 as a float; a version is text.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class ApprovalFile(BaseModel):
    """An approval file: ``approvals:`` followed by a list of :class:`Approval`."""

    model_config = ConfigDict(extra="forbid")

    approvals: list[Approval] = Field(default_factory=list)


class ApprovalFileError(Exception):
    """The approval file cannot be read; the message says why."""


def load_approvals(path: Path) -> list[Approval]:
    """The approvals in ``path``: a mapping with ``approvals:``, or a bare list of approvals."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise ApprovalFileError(f"approval file {path} does not exist")
    try:
        document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (YAMLError, OSError, UnicodeDecodeError) as exc:
        raise ApprovalFileError(f"approval file {path} cannot be read: {exc}") from None
    if document is None:
        return []
    if isinstance(document, list):
        document = {"approvals": document}
    try:
        return ApprovalFile.model_validate(document).approvals
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ApprovalFileError(f"approval file {path} is invalid: {problems}") from None


def planned_versions(plan: Plan) -> dict[str, str]:
    """The artifact versions the plan promotes: the plan's metadata, else its tasks' artifacts."""
    versions = plan.metadata.get("versions")
    if isinstance(versions, dict) and versions:
        return {str(k): str(v) for k, v in versions.items()}
    found: dict[str, str] = {}
    for change in plan.changes:
        artifact = (change.after or {}).get("artifact") if change.kind == "task" else None
        if isinstance(artifact, dict) and artifact.get("name") and artifact.get("version"):
            found[str(artifact["name"])] = str(artifact["version"])
    return found


def _why_not(approval: Approval, run: RunContext, versions: dict[str, str], now: datetime) -> str:
    """Why ``approval`` does not approve this run (empty when it does)."""
    if approval.pipeline != run.pipeline.name:
        return "another pipeline"
    if approval.target not in (run.target.environment, run.target.key):
        return "another target"
    different = [
        f"{name} {approval.versions.get(name, '(not listed)')} != {version}"
        for name, version in sorted(versions.items())
        if approval.versions.get(name) != version
    ]
    if different:
        return "other versions (" + ", ".join(different) + ")"
    if approval.expires is not None and approval.expires <= now:
        return f"expired {approval.expires.isoformat()}"
    return ""


def _approval_example(run: RunContext, versions: dict[str, str]) -> str:
    listed = ", ".join(f"{name}: {version}" for name, version in sorted(versions.items()))
    return (
        f"{{pipeline: {run.pipeline.name}, target: {run.target.environment}, "
        f"versions: {{{listed}}}, approver: NAME}}"
    )


def approval(run: RunContext, plan: Plan, now: datetime | None = None) -> GateDecision | None:
    """Require an approval for targets with ``approval: required``."""
    if run.target_config.approval != "required":
        return None
    extra = run.options.extra
    environment = run.target.environment
    if extra.get(APPROVE):
        approver = str(extra.get(APPROVER) or run.user)
        return GateDecision(
            gate="approval", allowed=True, reason=f"approved by {approver} (--approve)"
        )
    versions = planned_versions(plan)
    example = _approval_example(run, versions)
    configured = run.pipeline.gates.approval_file
    if configured is None:
        return GateDecision(
            gate="approval",
            allowed=False,
            reason=f"target {environment} requires an approval, and none was given",
            hint=(
                "pass --approve (add --approver NAME to record who approved; default: you), or "
                f"set gates.approval_file in {run.loaded.display} and list there {example}"
            ),
        )
    path = Path(configured).expanduser()
    path = path if path.is_absolute() else run.loaded.base_dir / path
    try:
        approvals = load_approvals(path)
    except ApprovalFileError as exc:
        return GateDecision(
            gate="approval",
            allowed=False,
            reason=f"target {environment} requires an approval: {exc}",
            hint=f"fix {configured}, or pass --approve (and --approver NAME)",
        )
    moment = now or datetime.now(UTC)
    rejected = []
    for candidate in approvals:
        why = _why_not(candidate, run, versions, moment)
        if not why:
            expiry = f", expires {candidate.expires.isoformat()}" if candidate.expires else ""
            return GateDecision(
                gate="approval",
                allowed=True,
                reason=f"approved by {candidate.approver} in {configured}{expiry}",
            )
        if candidate.pipeline == run.pipeline.name and why != "another target":
            rejected.append(f"{candidate.approver}'s: {why}")
    found = f" ({'; '.join(rejected)})" if rejected else ""
    return GateDecision(
        gate="approval",
        allowed=False,
        reason=f"target {environment} requires an approval; {configured} has none for this "
        f"release{found}",
        hint=f"add to {configured}: {example}; or pass --approve (and --approver NAME)",
    )


# --- hooks ----------------------------------------------------------------------------------------


@hookimpl(trylast=True)
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    """``--allow-downgrade``, ``--approve`` and ``--approver`` for ``promoter promote``."""
    if command != "promote":
        return None
    return [
        click.Option(
            ["--allow-downgrade", ALLOW_DOWNGRADE],
            is_flag=True,
            help="Allow tasks to move to an older artifact version (recorded).",
        ),
        click.Option(
            ["--approve", APPROVE],
            is_flag=True,
            help="Approve the promotion to a target with `approval: required` (recorded).",
        ),
        click.Option(
            ["--approver", APPROVER],
            default=None,
            metavar="NAME",
            help="Who approves (with --approve; default: the user running promoter).",
        ),
    ]


@hookimpl(trylast=True)
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision]:
    """The no-downgrade and approval gates' decisions."""
    decisions = [no_downgrade(run, plan), approval(run, plan)]
    return [d for d in decisions if d is not None]
