"""The Talend Cloud connection of a run: the ``talend:`` pipeline section, one client per run,
and the source and target workspaces every Talend stage reads and writes.

Where to connect comes, in this order, from the pipeline's ``talend:`` section and from the
environment variables published Talend tools use (``TALEND_API_URL`` or ``TALEND_REGION``,
``TALEND_ACCESS_TOKEN``, or ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from promoter.errors import ConfigurationError
from promoter.hookspecs import hookimpl
from promoter.pipeline import SecretRef
from promoter.run import RunContext, RunOutcome
from promoter.stages.workspace import TalendWorkspace
from promoter.talend.client import TalendClient

STATE_KEY = "talend"


class TalendSection(BaseModel):
    """The ``talend:`` section of a pipeline file: where and how to reach Talend Cloud."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    url: str | None = Field(default=None, description="API base URL (default: TALEND_API_URL).")
    region: str | None = Field(
        default=None, description="eu, us, us-west, ap or au (default: TALEND_REGION)."
    )
    token: SecretRef | None = Field(
        default=None, description="Access token reference, e.g. ${env:TALEND_ACCESS_TOKEN}."
    )
    client_id: str | None = Field(default=None, description="OAuth client id (service account).")
    client_secret: SecretRef | None = Field(
        default=None, description="OAuth client secret reference."
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds per request.")


@dataclass
class TalendSession:
    """A run's Talend client and the two workspaces it promotes between."""

    client: TalendClient
    source: TalendWorkspace
    target: TalendWorkspace

    def fresh_target(self) -> TalendWorkspace:
        """A new view of the target, with nothing cached (for snapshot and rollback reads)."""
        self.target = TalendWorkspace(
            self.client,
            self.target.environment_name,
            self.target.workspace_name,
            secret_parameters=self.target.secret_parameters,
        )
        return self.target


def make_client(
    section: TalendSection | None,
    resolve: Callable[[SecretRef], str],
    environ: dict[str, str] | None = None,
) -> TalendClient:
    """A client configured from the ``talend:`` section, then from the environment."""
    env = os.environ if environ is None else environ
    section = section or TalendSection()
    url = section.url or env.get("TALEND_API_URL")
    region = section.region or env.get("TALEND_REGION")
    token = resolve(section.token) if section.token else env.get("TALEND_ACCESS_TOKEN")
    client_id = section.client_id or env.get("TALEND_CLIENT_ID")
    secret = (
        resolve(section.client_secret) if section.client_secret else env.get("TALEND_CLIENT_SECRET")
    )
    if not url and not region:
        raise ConfigurationError(
            "no Talend Cloud API to talk to",
            hint="set TALEND_API_URL (or TALEND_REGION), or talend.url in the pipeline file",
        )
    if not token and not (client_id and secret):
        raise ConfigurationError(
            "no Talend Cloud credentials",
            hint="set TALEND_ACCESS_TOKEN, or TALEND_CLIENT_ID and TALEND_CLIENT_SECRET",
        )
    if token:
        return TalendClient(url, region=region, token=token, timeout=section.timeout)
    return TalendClient(
        url, region=region, client_id=client_id, client_secret=secret, timeout=section.timeout
    )


def secret_parameter_names(run: RunContext) -> set[str]:
    """Task parameters the pipeline declares secret (``parameters.secrets``, secret values)."""
    parameters = run.pipeline.parameters
    names = set(parameters.secrets)
    names.update(name for name, value in parameters.values.items() if isinstance(value, SecretRef))
    return names


def session(run: RunContext) -> TalendSession:
    """The run's Talend session, created on first use."""
    existing = run.state.get(STATE_KEY)
    if isinstance(existing, TalendSession):
        return existing
    client = make_client(run.section("talend"), run.secrets.resolve)
    secrets = secret_parameter_names(run)
    created = TalendSession(
        client=client,
        source=TalendWorkspace(
            client, run.source.environment, run.source.workspace, secret_parameters=secrets
        ),
        target=TalendWorkspace(
            client, run.target.environment, run.target.workspace, secret_parameters=secrets
        ),
    )
    run.state[STATE_KEY] = created
    return created


@hookimpl(trylast=True)
def promoter_register_pipeline_sections(register: Callable[[str, type[BaseModel]], None]) -> None:
    """The ``talend:`` section."""
    register("talend", TalendSection)


@hookimpl
def promoter_check_run(run: RunContext) -> None:
    """Refuse a run without a Talend API or credentials (or with an unknown region) before it is
    recorded: a client is configured, then closed, without a request."""
    make_client(run.section("talend"), run.secrets.resolve).close()


@hookimpl(tryfirst=True)
def promoter_report(run: RunContext, outcome: RunOutcome) -> None:
    """Put the client's traffic counters (requests, retries, 429s...) into the outcome, before
    the report writers run: the engine saves the outcome to the ledger after this stage."""
    existing: Any = run.state.get(STATE_KEY)
    if isinstance(existing, TalendSession):
        outcome.metrics["talend"] = existing.client.metrics.snapshot()


@hookimpl
def promoter_run_finished(run: RunContext, outcome: RunOutcome) -> None:
    """Close the run's client and keep its traffic counters for the reports."""
    existing: Any = run.state.pop(STATE_KEY, None)
    if isinstance(existing, TalendSession):
        run.state["talend_metrics"] = existing.client.metrics.snapshot()
        existing.client.close()
