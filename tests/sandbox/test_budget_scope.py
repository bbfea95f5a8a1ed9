"""Whom the sandbox's budgets count: each credential (the default: tests share a sandbox without
sharing budgets), or each source address as Talend Cloud does (``--budget-scope ip``): every
client on loopback then shares one budget, like CI runners behind one NAT address."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from click.testing import CliRunner

from promoter.sandbox import Sandbox
from promoter.sandbox.cli import serve

BUDGETS = {"orchestration": 3, "processing": 3, "monitoring": 3}


def statuses(sandbox: Sandbox, tokens: list[str]) -> list[int]:
    """``GET /orchestration/environments`` once with each token, in turn."""
    found = []
    for token in tokens:
        answer = httpx.get(f"{sandbox.base_url}/orchestration/environments",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        found.append(answer.status_code)
    return found


def test_budgets_count_per_credential_by_default(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(seed="demo", settings={"budgets": BUDGETS, "tokens": {"a", "b"}})
    # Each token has its own three requests a minute.
    assert statuses(sandbox, ["a", "b"] * 3) == [200] * 6
    assert statuses(sandbox, ["a", "b"]) == [429, 429]


def test_budgets_count_per_address_with_the_ip_scope(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(
        seed="demo", settings={"budgets": BUDGETS, "tokens": {"a", "b"}, "budget_scope": "ip"}
    )
    # Two credentials, one address: one budget of three.
    assert statuses(sandbox, ["a", "b", "a", "b"]) == [200, 200, 200, 429]
    settings = httpx.get(f"{sandbox.base_url}/_sandbox/settings", headers={"Authorization": "Bearer a"}).json()
    assert settings["budgetScope"] == "ip"


def test_serve_offers_the_budget_scope() -> None:
    help_text = CliRunner().invoke(serve, ["--help"]).output
    assert "--budget-scope [credential|ip]" in help_text
    refused = CliRunner().invoke(serve, ["--budget-scope", "everyone"])
    assert refused.exit_code == 2
