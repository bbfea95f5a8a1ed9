"""The Talend Cloud connection of a run: the ``talend:`` pipeline section, one client per run,
and the source and target workspaces every Talend stage reads and writes.

Where to connect comes, in this order, from the pipeline's ``talend:`` section and from the
environment variables published Talend tools use (``TALEND_API_URL`` or ``TALEND_REGION``,
``TALEND_ACCESS_TOKEN``, or ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET``). How long to wait
comes from ``talend.timeout`` when the file sets it, else ``PROMOTER_TALEND_TIMEOUT`` (each
request's deadline, default 30 s), and ``PROMOTER_TALEND_RETRY_TIME`` (how long one call retries
when Talend Cloud gives no answer, default 5 s).

While a run's client is open, the client's retries (``retrying n/N METHOD URL in Xs after
REASON``) are shown on standard error, unless the program has configured logging itself.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from promoter.errors import ConfigurationError
from promoter.hookspecs import hookimpl
from promoter.pipeline import SecretRef
from promoter.run import RunContext, RunOutcome
from promoter.stages.workspace import TalendWorkspace
from promoter.talend.client import (
    DEFAULT_TIMEOUT,
    RETRY_TIME_ENV,
    TIMEOUT_ENV,
    TalendClient,
    seconds_from_env,
)
from promoter.talend.models import PromotionDefinition
from promoter.talend.retries import RetryPolicy
from promoter.talend.transport import logger as talend_logger

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
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0, description="Seconds per request.")


@dataclass
class TalendSession:
    """A run's Talend client and the two workspaces it promotes between (and, once looked up,
    Talend's promotion definition from the source environment to the target's)."""

    client: TalendClient
    source: TalendWorkspace
    target: TalendWorkspace
    promotion: PromotionDefinition | None = None

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
    # The file's timeout when it sets one (it overrides the environment, as talend.url does).
    if "timeout" in section.model_fields_set:
        timeout = section.timeout
    else:
        timeout = seconds_from_env(TIMEOUT_ENV, env) or DEFAULT_TIMEOUT
    retry_time = seconds_from_env(RETRY_TIME_ENV, env)
    retry = RetryPolicy(no_answer_time=retry_time) if retry_time is not None else None
    if token:
        return TalendClient(url, region=region, token=token, timeout=timeout, retry=retry)
    return TalendClient(
        url,
        region=region,
        client_id=client_id,
        client_secret=secret,
        timeout=timeout,
        retry=retry,
    )


def secret_parameter_names(run: RunContext) -> set[str]:
    """Task parameters the pipeline declares secret (``parameters.secrets``, secret values)."""
    parameters = run.pipeline.parameters
    names = set(parameters.secrets)
    names.update(name for name, value in parameters.values.items() if isinstance(value, SecretRef))
    return names


class RetryLines(logging.Handler):
    """Shows the Talend client's INFO lines (its retries) on standard error, as
    ``talend: retrying 1/7 GET https://... in 0.41s after ...``.

    Writes to ``sys.stderr`` as it is at each line, so that a live console that redirects it
    (rich progress bars) keeps the lines above its display.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("talend: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a log line must never break the run
            self.handleError(record)


_retry_lines = RetryLines()
_saved_level: list[int] = []


def show_retries() -> None:
    """Show the client's retries on standard error, unless logging is configured already (by
    the program embedding promoter, or pytest)."""
    if _retry_lines in talend_logger.handlers:
        return
    if logging.getLogger().handlers or talend_logger.handlers:
        return
    _saved_level.append(talend_logger.level)
    if talend_logger.getEffectiveLevel() > logging.INFO:
        talend_logger.setLevel(logging.INFO)
    talend_logger.addHandler(_retry_lines)


def hide_retries() -> None:
    """Undo :func:`show_retries`."""
    if _retry_lines in talend_logger.handlers:
        talend_logger.removeHandler(_retry_lines)
        talend_logger.setLevel(_saved_level.pop() if _saved_level else logging.NOTSET)


def session(run: RunContext) -> TalendSession:
    """The run's Talend session, created on first use."""
    existing = run.state.get(STATE_KEY)
    if isinstance(existing, TalendSession):
        return existing
    client = make_client(run.section("talend"), run.secrets.resolve)
    show_retries()
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
        hide_retries()
