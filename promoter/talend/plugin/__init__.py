"""The Talend Cloud platform plugin: its pipeline sections, its stages, one module each.

Registered as built-in plugins (``talend``, ``talend-export`` ... in
:data:`promoter.hooks.manager.BUILTIN_PLUGINS`), exactly like a third-party platform would be.
This module is the ``talend`` plugin: it registers the plugin's pipeline sections
(:mod:`~.sections`) and commands (:mod:`promoter.talend.cli`, :mod:`promoter.talend.monitoring`),
checks a run's settings, and puts the client's traffic counters into the outcome.

- :mod:`~.session` — the run's client and its two workspaces;
- :mod:`~.workspace` — a workspace in canonical form, the stages' common language;
- :mod:`~.export`, :mod:`~.mapping`, :mod:`~.planning`, :mod:`~.snapshot`, :mod:`~.apply`
  (with :mod:`~.writes`), :mod:`~.verify`, :mod:`~.rollback` — one stage each;
- :mod:`~.gates` (``release-gates``) — no downgrade;
- :mod:`~.drift` — what differs between two environments (``promoter diff``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from promoter import RunContext, RunOutcome, hookimpl
from promoter.talend.plugin.sections import SECTIONS, config
from promoter.talend.plugin.session import STATE_KEY, TalendSession, make_client


@hookimpl(trylast=True)
def promoter_register_pipeline_sections(register: Callable[..., None]) -> None:
    """The Talend sections: ``artifacts`` (required), ``tasks``, ``connections``, ``parameters``,
    ``apply``, ``verify`` and ``talend``."""
    for name, (model, required) in SECTIONS.items():
        # promoter authenticates itself with the talend: section's references (its token).
        register(name, model, required=required, credentials=name == "talend")


@hookimpl(trylast=True)
def promoter_register_commands(register: Callable[[str, click.Command | str], None]) -> None:
    """``diff``, ``export``, ``executions`` (alias ``runs``), ``logs`` and ``sandbox``."""
    register("diff", "promoter.talend.cli:diff")
    register("export", "promoter.talend.cli:export")
    register("executions", "promoter.talend.monitoring:executions")
    register("runs", "promoter.talend.monitoring:runs")
    register("sandbox", "promoter.sandbox.cli:sandbox")
    register("logs", "promoter.talend.monitoring:logs")


@hookimpl
def promoter_check_run(run: RunContext) -> None:
    """Refuse a run without a Talend API or credentials (or with an unknown region) before it is
    recorded: a client is configured, then closed, without a request."""
    make_client(config(run).talend, run.secrets.resolve).close()


@hookimpl(tryfirst=True)
def promoter_report(run: RunContext, outcome: RunOutcome) -> None:
    """Put the client's traffic counters (requests, retries, 429s...) into the outcome, before
    the report writers run: the engine saves the outcome to the ledger after this stage."""
    existing: Any = run.state.get(STATE_KEY)
    if isinstance(existing, TalendSession):
        outcome.metrics["talend"] = existing.client.metrics.snapshot()
