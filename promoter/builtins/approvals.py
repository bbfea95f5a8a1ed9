"""Approval files: who approved which promotion — one pipeline, one target, exact versions.

The format read by the built-in ``approval`` gate (``approval: required`` on a target, with
``gates.approval_file``) and by plugins that count approvals (promoter-approvals)::

    approvals:
      - pipeline: finance-release
        target: prod                      # or prod/Finance
        versions:
          finance_daily_load: 0.3.0.20261031080000
          finance_ledger_sync: 1.1.0.20261102080000
        approver: alice
        expires: 2026-12-31T00:00:00Z     # optional

:func:`load_approvals` reads a file, :func:`match_approval` says how one approval relates to one
promotion. Both are public: ``from promoter import load_approvals, match_approval``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from promoter import TargetRef


class Approval(BaseModel):
    """One approval: this pipeline, to this target, with these exact versions, by someone."""

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


class ApprovalFileError(Exception):
    """An approval file cannot be read; the message says why."""


def load_approvals(path: Path) -> list[Approval]:
    """The approvals in ``path``: ``approvals:`` followed by a list, or a bare list."""
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
    if isinstance(document, dict):
        document = document.get("approvals") or []
    if not isinstance(document, list):
        raise ApprovalFileError(f"approval file {path} must list approvals under 'approvals:'")
    approvals = []
    for index, item in enumerate(document):
        try:
            approvals.append(Approval.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(entry)'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ApprovalFileError(
                f"approval file {path} is invalid: approvals[{index}]: {problems}"
            ) from None
    return approvals


@dataclass(frozen=True)
class ApprovalMatch:
    """How one approval relates to one promotion."""

    approval: Approval
    applies: bool
    """Whether it is an approval of this pipeline and target at all."""
    differing: dict[str, tuple[str | None, str | None]]
    """Artifact -> (version approved, version promoted), for each promoted artifact that differs."""
    expired: bool

    @property
    def approves(self) -> bool:
        """Whether it approves the promotion: same pipeline, target and versions, not expired."""
        return self.applies and not self.differing and not self.expired

    def why_not(self) -> str:
        """Why it does not approve (empty when it does)."""
        if not self.applies:
            return "another promotion"
        if self.differing:
            listed = ", ".join(
                f"{name} {approved or '(not listed)'} != {promoted or '(not promoted)'}"
                for name, (approved, promoted) in sorted(self.differing.items())
            )
            return f"other versions ({listed})"
        if self.expired and self.approval.expires is not None:
            return f"expired {self.approval.expires.isoformat()}"
        return ""


def match_approval(
    approval: Approval,
    *,
    pipeline: str,
    target: TargetRef,
    versions: Mapping[str, str],
    now: datetime | None = None,
) -> ApprovalMatch:
    """How ``approval`` relates to promoting ``versions`` of ``pipeline`` to ``target``."""
    applies = approval.pipeline == pipeline and approval.target in (target.environment, target.key)
    # Every artifact promoted must be approved at its exact version; others it lists are moot.
    differing: dict[str, tuple[str | None, str | None]] = {
        name: (approval.versions.get(name), version)
        for name, version in versions.items()
        if approval.versions.get(name) != version
    }
    moment = now or datetime.now(UTC)
    expired = approval.expires is not None and approval.expires <= moment
    return ApprovalMatch(approval=approval, applies=applies, differing=differing, expired=expired)


def approval_example(pipeline: str, environment: str, versions: Mapping[str, str]) -> str:
    """An approval of this promotion, as one line of YAML (for hints)."""
    listed = ", ".join(f"{name}: {version}" for name, version in sorted(versions.items()))
    return (
        f"{{pipeline: {pipeline}, target: {environment}, versions: {{{listed}}}, approver: NAME}}"
    )
