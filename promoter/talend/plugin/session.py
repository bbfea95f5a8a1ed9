"""The Talend Cloud connection of a run: one client per run (configured by the ``talend:``
section, then the environment), and the source and target workspaces every Talend stage reads
and writes.

Where to connect comes, in this order, from the pipeline's ``talend:`` section and from the
environment variables published Talend tools use (``TALEND_API_URL`` or ``TALEND_REGION``,
``TALEND_ACCESS_TOKEN``, or ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET``). How long to wait
comes from ``talend.timeout`` when the file sets it, else ``PROMOTER_TALEND_TIMEOUT`` (each
request's deadline, default 30 s), and ``PROMOTER_TALEND_RETRY_TIME`` (how long one call retries
when Talend Cloud gives no answer, default 5 s).

Whose request budgets the client paces itself under comes from ``talend.budget_scope``, else
``PROMOTER_TALEND_BUDGET_SCOPE``: ``client`` (the default: its own sliding window) or ``shared``
(one window for every runner of the team ledger calling the same API — runners behind one
address, which Talend counts as one client; ``run.budgets``). ``PROMOTER_TALEND_BUDGET_SLICE``
sets how many slots one round trip to the shared window takes (1; more are leased slices).

The client logs each retry (``retrying n/N METHOD URL in Xs after REASON``) at INFO on the
``promoter.talend`` logger; the command line shows those lines on standard error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from promoter import ConfigurationError, RunContext, SecretRef
from promoter.talend.client import (
    TalendClient,
)
from promoter.talend.models import PromotionDefinition
from promoter.talend.plugin.sections import TalendSection, config
from promoter.talend.plugin.workspace import TalendWorkspace

STATE_KEY = "talend"

BUDGET_SCOPE_ENV = "PROMOTER_TALEND_BUDGET_SCOPE"
"""``client`` or ``shared``: whose budgets the client paces itself under (``talend.budget_scope``
in the pipeline file wins)."""

BUDGET_SLICE_ENV = "PROMOTER_TALEND_BUDGET_SLICE"
"""Slots taken per round trip to a shared budget window (default 1: the shared window itself)."""

logger = logging.getLogger("promoter.talend")


@dataclass
class TalendSession:
    """A run's Talend client and the two workspaces it promotes between (and, once looked up,
    Talend's promotion definition from the source environment to the target's)."""

    client: TalendClient
    source: TalendWorkspace
    target: TalendWorkspace
    promotion: PromotionDefinition | None = None

    def fresh_target(self, *, same_workspace: bool = False) -> TalendWorkspace:
        """A new view of the target, with nothing cached (for snapshot and rollback reads).

        With ``same_workspace``, the environment and workspace the current view found are kept
        (their identity, not their contents): the snapshot, moments after the plan, reads what
        they hold again without looking them up again."""
        previous = self.target
        self.target = TalendWorkspace(
            self.client,
            previous.environment_name,
            previous.workspace_name,
            secret_parameters=previous.secret_parameters,
        )
        if same_workspace:
            self.target.keep_identity_of(previous)
        return self.target


def make_client(
    section: TalendSection | None,
    resolve: Callable[[SecretRef], str],
    environ: dict[str, str] | None = None,
) -> TalendClient:
    """A client for the ``talend:`` section; what the section leaves out comes from the
    environment, read by :meth:`TalendClient.from_env` (the one reader of ``TALEND_*``)."""
    section = section or TalendSection()
    options: dict[str, object] = {}
    if section.url:
        options["base_url"] = section.url
    if section.region:
        options["region"] = section.region
    if section.token:
        options["token"] = resolve(section.token)
    if section.client_id:
        options["client_id"] = section.client_id
    if section.client_secret:
        options["client_secret"] = resolve(section.client_secret)
    # The file's timeout when it sets one (it overrides the environment, as talend.url does).
    if "timeout" in section.model_fields_set:
        options["timeout"] = section.timeout
    return TalendClient.from_env(environ, **options)


def budget_scope(section: TalendSection | None, environ: Mapping[str, str] | None = None) -> str:
    """``client`` or ``shared``: the pipeline's ``talend.budget_scope``, else the environment's."""
    if section is not None and section.budget_scope is not None:
        return section.budget_scope
    env = os.environ if environ is None else environ
    value = env.get(BUDGET_SCOPE_ENV, "").strip().lower() or "client"
    if value not in ("client", "shared"):
        raise ConfigurationError(
            f"{BUDGET_SCOPE_ENV} must be client or shared, not {value!r}",
            hint="set it to shared for runners behind one address, or unset it",
        )
    return value


def share_budgets(run: RunContext, client: TalendClient) -> None:
    """With ``budget_scope: shared``, draw the client's budgets from the team ledger's window."""
    if budget_scope(config(run).talend) != "shared":
        return
    if run.budgets is None:
        logger.warning(
            "talend.budget_scope is shared, but this ledger keeps no shared budgets (team mode "
            "needs the PostgreSQL ledger): pacing under this client's own budget"
        )
        return
    raw = os.environ.get(BUDGET_SLICE_ENV, "").strip() or "1"
    if not raw.isdecimal() or int(raw) < 1:
        raise ConfigurationError(
            f"{BUDGET_SLICE_ENV} must be a whole number of slots of at least 1, not {raw!r}",
            hint="unset it: one slot per request is the default",
        )
    client.share_budgets(run.budgets, slice=int(raw))


def secret_parameter_names(run: RunContext) -> set[str]:
    """Task parameters the pipeline declares secret (``parameters.secrets``, secret values)."""
    parameters = config(run).parameters
    names = set(parameters.secrets)
    names.update(name for name, value in parameters.values.items() if isinstance(value, SecretRef))
    return names


def session(run: RunContext) -> TalendSession:
    """The run's Talend session, created on first use."""
    existing = run.state.get(STATE_KEY)
    if isinstance(existing, TalendSession):
        return existing
    client = make_client(config(run).talend, run.secrets.resolve)
    share_budgets(run, client)
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
    run.add_cleanup(client.close)
    return created
