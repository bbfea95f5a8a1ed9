"""promoter-PLUGIN_NAME: refuse a promotion whose ``--reason`` names no change ticket.

A starting point for a promoter plugin; replace it with your own hooks (docs/hooks.md lists them
all). Configured by the pipeline's ``PLUGIN_NAME:`` section; without it the plugin does nothing::

    PLUGIN_NAME:
      ticket_pattern: "CHG-[0-9]+"      # a regular expression searched in --reason
      environments: [prod]              # default: every target
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from promoter import GateDecision, Plan, RunContext, hookimpl

GATE = "PLUGIN_NAME"


class Section(BaseModel):
    """The ``PLUGIN_NAME:`` pipeline section (``extra="forbid"``: a typo is an error)."""

    model_config = ConfigDict(extra="forbid")

    ticket_pattern: str = Field(default="CHG-[0-9]+", min_length=1)
    environments: list[str] | None = None


@hookimpl
def promoter_register_pipeline_sections(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Register the ``PLUGIN_NAME:`` section (named like the plugin, so blocking ignores it)."""
    register("PLUGIN_NAME", Section)


@hookimpl
def promoter_gate(run: RunContext, plan: Plan) -> GateDecision | None:
    """Allow the promotion only when ``--reason`` names a change ticket."""
    section = run.section_as("PLUGIN_NAME", Section)
    if section is None:
        return None  # not configured: no opinion
    if section.environments is not None and run.target.environment not in section.environments:
        return None
    match = re.search(section.ticket_pattern, run.reason or "")
    if match:
        return GateDecision(gate=GATE, allowed=True, reason=f"change ticket {match.group(0)}")
    return GateDecision(
        gate=GATE,
        allowed=False,
        reason=f"--reason names no change ticket (pattern {section.ticket_pattern})",
        hint='pass --reason "CHG-1234: why"',
    )
