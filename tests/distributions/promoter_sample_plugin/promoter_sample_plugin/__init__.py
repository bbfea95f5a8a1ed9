"""A sample promoter plugin, discovered through the ``promoter`` entry-point group.

It is installed in the test environment, so it is loaded by every ``promoter`` command there; it
must stay harmless: it only acts when its option or its pipeline section is used.

- ``promoter_add_cli_options``: adds ``--sample-block REASON`` to ``promote``;
- ``promoter_gate``: blocks the promotion when ``--sample-block`` is given;
- ``promoter_register_pipeline_sections``: an optional ``sample:`` section.
"""

from __future__ import annotations

from typing import Any

import click
from pydantic import BaseModel, ConfigDict

from promoter import hookimpl
from promoter.context import RunContext
from promoter.model import GateDecision, Plan


class SampleSection(BaseModel):
    """The optional ``sample:`` pipeline section."""

    model_config = ConfigDict(extra="forbid")

    greeting: str = "hello"


@hookimpl
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    if command != "promote":
        return None
    return [
        click.Option(
            ["--sample-block"],
            default=None,
            metavar="REASON",
            help="(sample plugin) Block the promotion with this reason.",
        )
    ]


@hookimpl
def promoter_register_pipeline_sections(register: Any) -> None:
    register("sample", SampleSection)


@hookimpl
def promoter_gate(run: RunContext, plan: Plan) -> GateDecision | None:
    reason = run.options.extra.get("sample_block")
    if not reason:
        return None
    return GateDecision(gate="sample", allowed=False, reason=str(reason))
