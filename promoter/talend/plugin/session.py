"""The Talend Cloud connection of a run: one client per run (configured by the ``talend:``
section, then the environment), and the source and target workspaces every Talend stage reads
and writes.

Where to connect comes, in this order, from the pipeline's ``talend:`` section and from the
environment variables published Talend tools use (``TALEND_API_URL`` or ``TALEND_REGION``,
``TALEND_ACCESS_TOKEN``, or ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET``). How long to wait
comes from ``talend.timeout`` when the file sets it, else ``PROMOTER_TALEND_TIMEOUT`` (each
request's deadline, default 30 s), and ``PROMOTER_TALEND_RETRY_TIME`` (how long one call retries
when Talend Cloud gives no answer, default 5 s).

The client logs each retry (``retrying n/N METHOD URL in Xs after REASON``) at INFO on the
``promoter.talend`` logger; the command line shows those lines on standard error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promoter import RunContext, SecretRef
from promoter.talend.client import (
    TalendClient,
)
from promoter.talend.models import PromotionDefinition
from promoter.talend.plugin.sections import TalendSection, config
from promoter.talend.plugin.workspace import TalendWorkspace

STATE_KEY = "talend"


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
