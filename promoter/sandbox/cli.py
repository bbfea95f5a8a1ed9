"""``promoter sandbox``: serve the sandbox, publish artifact versions into it, inject faults."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click


@click.group()
def sandbox() -> None:
    """The local Talend-Cloud-compatible sandbox."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: a free one).")
@click.option("--state", default="sandbox.db", show_default=True, help="SQLite state file, or ':memory:'.")
@click.option("--seed", default="demo", show_default=True, type=click.Choice(["demo", "large", "empty"]),
              help="Estate to create when the state is new.")
@click.option("--tasks", default=100, show_default=True, type=int, help="Tasks of the 'large' seed.")
@click.option("--token", "tokens", multiple=True, help="Accepted personal access token (repeatable). "
              "Default: the development token 'sandbox-dev-token'.")
@click.option("--token-ttl", default=1800.0, show_default=True, type=float, help="OAuth token lifetime, seconds.")
@click.option("--run-seconds", default=0.8, show_default=True, type=float, help="How long a task execution runs.")
@click.option("--no-rate-limit", is_flag=True, help="Do not enforce the per-minute budgets.")
@click.option("--budget-scope", default="credential", show_default=True, type=click.Choice(["credential", "ip"]),
              help="Count budgets per credential, or per source address as Talend Cloud does.")
@click.option("--faults", "faults_json", default=None, help="Faults as JSON, e.g. '{\"error_rate\": 0.1}'.")
def serve(host: str, port: int, state: str, seed: str, tasks: int, tokens: tuple[str, ...], token_ttl: float,
          run_seconds: float, no_rate_limit: bool, budget_scope: str, faults_json: str | None) -> None:
    """Serve the sandbox in the foreground until Ctrl-C."""
    from pydantic import ValidationError

    from promoter.errors import ConfigurationError
    from promoter.sandbox.app import DEV_TOKEN, SandboxSettings, SandboxState
    from promoter.sandbox.faults import FaultConfig
    from promoter.sandbox.seed import seed_estate
    from promoter.sandbox.server import Sandbox

    settings = SandboxSettings(tokens=set(tokens) or {DEV_TOKEN}, token_ttl=token_ttl, run_seconds=run_seconds,
                               budget_scope=budget_scope)
    if no_rate_limit:
        settings.budgets = None
    faults = None
    if faults_json:
        try:
            faults = FaultConfig.model_validate_json(faults_json)
        except ValidationError as exc:
            raise ConfigurationError(f"--faults: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
                                     hint="see `promoter sandbox serve --help` and docs/sandbox.md") from exc
    sandbox_state = SandboxState(None if state == ":memory:" else state, settings)
    created = seed_estate(sandbox_state.estate, seed, tasks=tasks)
    if faults:
        sandbox_state.faults.configure(faults)
    server = Sandbox(sandbox_state, host, port)
    click.echo(f"promoter sandbox on {server.base_url}  (state: {state}{', seeded ' + seed if created else ''})")
    click.echo(f"  token: Authorization: Bearer {server.token}")
    click.echo(f"  OAuth: client id {server.client_id!r}, secret {server.client_secret!r}")
    click.echo(f"  API document: {server.base_url}/openapi.json")
    server.serve_forever()


def _admin(base_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    import httpx

    response = httpx.request(method, base_url.rstrip("/") + path, json=body,
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if response.status_code >= 400:
        raise click.ClickException(f"{method} {path}: {response.status_code} {response.text}")
    return response.json() if response.content else None


_URL = click.option("--url", default=lambda: os.environ.get("TALEND_API_URL", "http://127.0.0.1:8080"),
                    show_default="TALEND_API_URL or http://127.0.0.1:8080", help="The sandbox's base URL.")
_TOKEN = click.option("--token", default=lambda: os.environ.get("TALEND_ACCESS_TOKEN", "sandbox-dev-token"),
                      show_default="TALEND_ACCESS_TOKEN or the development token", help="Bearer token.")


@sandbox.command()
@_URL
@_TOKEN
@click.option("--workspace-id", required=True, help="Workspace to publish into.")
@click.option("--name", required=True, help="Artifact name.")
@click.option("--version", "version", required=True, help="Version string, e.g. 0.4.0.20261201120000.")
@click.option("--type", "type_", default="standard", show_default=True, help="Artifact type.")
@click.option("--parameters", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file: a list of {name, value, type, required}.")
@click.option("--behaviour", default="{}", help="JSON: how executions of this version end, "
              "e.g. '{\"failInEnvironments\": [\"prod\"]}'.")
def publish(url: str, token: str, workspace_id: str, name: str, version: str, type_: str,
            parameters: Path | None, behaviour: str) -> None:
    """Publish an artifact version (what Studio or Maven do on the real service)."""
    body = {"workspaceId": workspace_id, "name": name, "version": version, "type": type_,
            "parameters": json.loads(parameters.read_text()) if parameters else [],
            "behaviour": json.loads(behaviour)}
    result = _admin(url, token, "POST", "/_sandbox/artifacts", body)
    click.echo(f"published {result['name']} {result['version']} (artifact {result['id']})")


@sandbox.command()
@_URL
@_TOKEN
@click.argument("faults_json", required=False)
def faults(url: str, token: str, faults_json: str | None) -> None:
    """Show the faults in force, or replace them with FAULTS_JSON ('{}' clears them)."""
    result = _admin(url, token, "PUT" if faults_json is not None else "GET", "/_sandbox/faults",
                    json.loads(faults_json) if faults_json is not None else None)
    click.echo(json.dumps(result, indent=2))
