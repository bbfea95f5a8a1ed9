"""promoter-approvals: an approval gate that needs N distinct approvers.

Configured by the pipeline's ``approvals:`` section; without it the plugin does nothing::

    approvals:
      required: 2                       # distinct approvers needed
      environments: [prod]              # default: every target
      file: approvals.yaml              # approvals kept in the repository (relative to the pipeline)
      token_secret: ${env:APPROVAL_TOKEN_SECRET}   # enables signed approval tokens
      approvers: [alice, bob, carol]    # optional: only these people count
      allow_self_approval: false        # the person running promoter does not count (default)

An approval is valid for one pipeline, one target and the exact artifact versions the plan
promotes, so approving version 0.3 never lets 0.4 through. It comes from:

- the **approvals file**, in the format of promoter's built-in ``approval: required`` gate, read
  and matched with promoter's own ``load_approvals`` and ``match_approval``::

      approvals:
        - pipeline: finance-release
          target: prod                  # or prod/Finance
          versions: {finance_daily_load: 0.3.0.20261031080000}
          approver: alice
          expires: 2026-12-31T00:00:00Z # optional

- a **signed approval token** ``APPROVER:SIGNATURE``, the signature being HMAC-SHA256 (with
  ``token_secret``) over the approver, pipeline name, target environment and versions (see
  :func:`sign`). Tokens are given with ``promoter promote --approval-token TOKEN`` (repeatable) or
  ``PROMOTER_APPROVAL_TOKENS`` (comma-separated); approvers make them with
  ``promoter-approval-token --secret ... --approver alice --pipeline ... --target prod
  --version name=version``.

The gate is named ``approvals`` (promoter's own single-approver gate is ``approval``; the two
coexist). Its decision names every approver counted and every approval not counted, with why; the
engine records it in the ledger (``promoter show RUN`` lists it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import click
from pydantic import BaseModel, ConfigDict, Field

from promoter import (
    ApprovalFileError,
    GateDecision,
    Plan,
    RunContext,
    SecretRef,
    hookimpl,
    load_approvals,
    match_approval,
)

__version__ = "0.1.0"

GATE = "approvals"
TOKENS_ENV = "PROMOTER_APPROVAL_TOKENS"
OPTION = "approval_tokens"


class ApprovalsSection(BaseModel):
    """The ``approvals:`` pipeline section."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    required: int = Field(default=1, ge=1, description="Distinct approvers needed.")
    environments: list[str] | None = Field(
        default=None, description="Targets that need approvals (default: every target)."
    )
    file: str | None = Field(
        default=None, description="Approvals file, relative to the pipeline file."
    )
    token_secret: SecretRef | None = Field(
        default=None, description="HMAC key of approval tokens: ${env:NAME} or ${file:path}."
    )
    approvers: list[str] | None = Field(
        default=None, description="Only these approvers count (default: anyone)."
    )
    allow_self_approval: bool = False


# --- tokens ---------------------------------------------------------------------------------------


def token_message(approver: str, pipeline: str, target: str, versions: Mapping[str, str]) -> bytes:
    """The bytes a token signs: approver, pipeline, target environment and versions, canonical."""
    document = {
        "approver": approver,
        "pipeline": pipeline,
        "target": target,
        "versions": dict(sorted(versions.items())),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(
    secret: str, approver: str, pipeline: str, target: str, versions: Mapping[str, str]
) -> str:
    """An approval token: ``APPROVER:HEX(HMAC-SHA256(secret, token_message(...)))``."""
    if ":" in approver:
        raise ValueError("an approver's name cannot contain ':'")
    digest = hmac.new(
        secret.encode("utf-8"), token_message(approver, pipeline, target, versions), hashlib.sha256
    ).hexdigest()
    return f"{approver}:{digest}"


def verify(
    token: str, secret: str, pipeline: str, target: str, versions: Mapping[str, str]
) -> str | None:
    """The approver of a valid token for this promotion, or ``None``."""
    approver, sep, _signature = token.strip().rpartition(":")
    if not sep or not approver:
        return None
    expected = sign(secret, approver, pipeline, target, versions)
    return approver if hmac.compare_digest(expected, token.strip()) else None


def given_tokens(run: RunContext) -> list[str]:
    """Tokens from ``--approval-token`` and from ``PROMOTER_APPROVAL_TOKENS``."""
    tokens = [str(t) for t in run.options.extra.get(OPTION) or ()]
    tokens += [t.strip() for t in os.environ.get(TOKENS_ENV, "").split(",") if t.strip()]
    return tokens


# --- the gate -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Who approved (approver -> where from), and what was not counted (with why)."""

    approved: dict[str, str]
    rejected: list[str]


def count_approvals(
    run: RunContext, section: ApprovalsSection, versions: dict[str, str], now: datetime
) -> Tally:
    """Collect the approvals of this promotion from the file and the tokens."""
    tally = Tally(approved={}, rejected=[])

    def consider(approver: str, source: str) -> None:
        if section.approvers is not None and approver not in section.approvers:
            tally.rejected.append(f"{approver} ({source}: not in approvals.approvers)")
        elif approver == run.user and not section.allow_self_approval:
            tally.rejected.append(f"{approver} ({source}: runs this promotion)")
        else:
            tally.approved.setdefault(approver, source)

    path = run.pipeline_path.parent / section.file if section.file else None
    if path is not None and not path.exists():
        # Nobody approved in the repository yet: the tokens may still be enough.
        tally.rejected.append(f"no approvals file ({section.file} does not exist)")
    elif path is not None:
        for approval in load_approvals(path):
            match = match_approval(
                approval,
                pipeline=run.pipeline.name,
                target=run.target,
                versions=versions,
                now=now,
            )
            if not match.applies:
                continue  # an approval of another promotion
            if match.differing:
                tally.rejected.append(
                    f"{approval.approver} ({section.file}: approved other versions of "
                    f"{', '.join(sorted(match.differing))})"
                )
            elif match.expired:
                tally.rejected.append(f"{approval.approver} ({section.file}: {match.why_not()})")
            else:
                consider(approval.approver, section.file or path.name)

    tokens = given_tokens(run)
    if tokens and section.token_secret is None:
        tally.rejected.append(f"{len(tokens)} token(s) (approvals.token_secret is not set)")
    elif tokens and section.token_secret is not None:
        secret = run.secrets.resolve(section.token_secret)
        for token in tokens:
            approver = verify(token, secret, run.pipeline.name, run.target.environment, versions)
            if approver is None:
                claimed = token.rpartition(":")[0] or "?"
                tally.rejected.append(
                    f"{claimed} (token: invalid for this pipeline, target and versions)"
                )
            else:
                consider(approver, "token")
    return tally


def approval_gate(run: RunContext, plan: Plan, now: datetime | None = None) -> GateDecision | None:
    """The ``approvals`` gate's decision (``None`` when the target needs no approvals)."""
    section = run.section_as("approvals", ApprovalsSection)
    if section is None:
        return None
    if section.environments is not None and run.target.environment not in section.environments:
        return None
    versions = plan.versions
    try:
        tally = count_approvals(run, section, versions, now or datetime.now(UTC))
    except ApprovalFileError as exc:
        return GateDecision(
            gate=GATE,
            allowed=False,
            reason=str(exc),
            hint=f"fix approvals.file in {run.pipeline_path.name}, or the file itself",
        )
    counted = ", ".join(f"{name} ({source})" for name, source in sorted(tally.approved.items()))
    summary = f"{len(tally.approved)} of {section.required} approval(s)"
    reason = f"{summary}: {counted or 'none'}"
    if tally.rejected:
        reason += "; not counted: " + "; ".join(tally.rejected)
    if len(tally.approved) >= section.required:
        return GateDecision(gate=GATE, allowed=True, reason=reason)
    wanted = ", ".join(f"{k}: {v}" for k, v in sorted(versions.items()))
    return GateDecision(
        gate=GATE,
        allowed=False,
        reason=reason,
        hint=(
            f"{section.required - len(tally.approved)} more approver(s) needed for "
            f"{run.pipeline.name} -> {run.target.environment} with {{{wanted}}}: add them to "
            f"{section.file or 'an approvals file (approvals.file)'}"
            + (", or pass --approval-token" if section.token_secret is not None else "")
        ),
    )


@hookimpl
def promoter_register_pipeline_sections(register: Callable[[str, type[BaseModel]], None]) -> None:
    """The ``approvals:`` section."""
    register("approvals", ApprovalsSection)


@hookimpl
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    """``promoter promote --approval-token TOKEN`` (repeatable)."""
    if command != "promote":
        return None
    return [
        click.Option(
            ["--approval-token", OPTION],
            multiple=True,
            metavar="TOKEN",
            help=f"(approvals) A signed approval token; repeatable [env {TOKENS_ENV}].",
        )
    ]


@hookimpl
def promoter_gate(run: RunContext, plan: Plan) -> GateDecision | None:
    """The ``approvals`` gate."""
    return approval_gate(run, plan)


@click.command()
@click.option("--secret", envvar="APPROVAL_TOKEN_SECRET", required=True, help="The HMAC key.")
@click.option("--approver", required=True)
@click.option("--pipeline", required=True, help="The pipeline's name.")
@click.option("--target", required=True, help="The target environment.")
@click.option("--version", "versions", multiple=True, required=True, metavar="ARTIFACT=VERSION")
def sign_command(
    secret: str, approver: str, pipeline: str, target: str, versions: tuple[str, ...]
) -> None:
    """Print an approval token for one promotion (promoter-approvals)."""
    pairs = dict(v.split("=", 1) for v in versions if "=" in v)
    if len(pairs) != len(versions):
        raise click.BadParameter("write --version artifact=version", param_hint="--version")
    click.echo(sign(secret, approver, pipeline, target, pairs))


__all__ = [
    "ApprovalsSection",
    "approval_gate",
    "sign",
    "token_message",
    "verify",
]
