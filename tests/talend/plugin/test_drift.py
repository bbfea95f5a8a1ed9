"""`promoter diff --from ENV --to ENV`: drift between environments, secrets masked.

Against the sandbox's demo estate, where dev is ahead of test and test ahead of prod, connection
hosts and secrets differ per environment, and prod's tasks have their own parameter values.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from promoter.cli import main as promoter_main
from promoter.model import FieldChange
from promoter.sandbox import Sandbox
from promoter.talend import models as m
from promoter.talend.cli import print_drift_table
from promoter.talend.client import TalendClient
from promoter.talend.plugin.drift import SECRET, SECRET_DIFFERS, drift, mask, masked_field
from promoter.talend.plugin.workspace import fingerprint

#: Every secret value the demo seed stores in a connection.
SEEDED_SECRETS = [
    f"{env}-{what}"
    for env in ("dev", "test", "prod")
    for what in ("warehouse-password", "bank-private-key", "crm-token", "lake-key")
]


@pytest.fixture
def sandbox(demo_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The demo sandbox, with the environment `promoter diff` reads its connection from."""
    monkeypatch.setenv("TALEND_API_URL", demo_sandbox.base_url)
    monkeypatch.setenv("TALEND_ACCESS_TOKEN", demo_sandbox.token)
    return demo_sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[TalendClient]:
    with TalendClient(sandbox.base_url, token=sandbox.token) as talend:
        yield talend


def diff_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        promoter_main(["diff", *args])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def no_secret_in(text: str) -> None:
    assert "secret:sha256:" not in text
    leaked = [s for s in SEEDED_SECRETS if s in text]
    assert leaked == []


def fields_of(report: dict[str, Any], workspace: str, kind: str, key: str) -> dict[str, Any]:
    found = next(w for w in report["workspaces"] if w["workspace"] == workspace)
    obj = next(o for o in found["objects"] if (o["kind"], o["key"]) == (kind, key))
    return {f["path"]: (f["from"], f["to"]) for f in obj["fields"]}


def test_diff_lists_versions_tasks_and_connections_with_secrets_masked(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    mark = sandbox.requests()[-1]["seq"] if sandbox.requests() else 0
    code, out, _err = diff_cli(capsys, "--from", "dev", "--to", "prod", "--output", "json")
    assert code == 0
    no_secret_in(out)
    report = json.loads(out)
    assert (report["from"], report["to"]) == ("dev", "prod")
    # The shared workspaces of both environments; not the per-environment custom ones.
    assert [w["workspace"] for w in report["workspaces"]] == ["Finance", "Marketing"]

    daily = fields_of(report, "Finance", "artifact", "finance_daily_load")
    assert daily["latest"] == ("0.3.0.20261031080000", "0.1.0.20260901080000")
    assert daily["versions only on this side"] == (
        ["0.3.0.20261031080000", "0.2.0.20260921080000"],
        [],
    )
    task = fields_of(report, "Finance", "task", "Finance daily load")
    assert task == {
        "artifact.version": ("0.3.0.20261031080000", "0.1.0.20260901080000"),
        "parameters.DB_SCHEMA": ("finance_dev", "finance"),
        "parameters.LOG_LEVEL": ("INFO", "WARN"),
    }
    warehouse = fields_of(report, "Finance", "connection", "finance_warehouse")
    assert warehouse == {
        "parameters.host": ("finance-db.dev.internal", "finance-db.prod.internal"),
        "parameters.password": (SECRET_DIFFERS, SECRET_DIFFERS),
    }
    kinds = {(o["kind"], o["key"]) for w in report["workspaces"] for o in w["objects"]}
    assert ("plan", "Finance nightly") not in kinds  # the same steps on both sides
    assert ("connection", "crm") in kinds and ("task", "Leads scoring") in kinds
    # Drift reads; it never writes.
    writes = [e for e in sandbox.requests(since=mark) if e["method"] != "GET"]
    assert writes == []


def test_the_text_table_and_one_workspace(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = diff_cli(capsys, "--from", "dev", "--to", "prod")
    assert code == 0
    no_secret_in(out)
    lines = out.splitlines()
    assert lines[0] == "dev -> prod: 12 difference(s) in 2 workspace(s)"
    assert lines[1] == "Finance:"
    assert lines[2].split() == ["KIND", "NAME", "FIELD", "dev", "prod"]
    warehouse = next(line for line in lines if "finance_warehouse" in line and "password" in line)
    assert warehouse.split()[-4:] == ["(secret", "differs)", "(secret", "differs)"]

    code, out, _err = diff_cli(capsys, "--from", "test", "--to", "prod", "--workspace", "Finance")
    assert code == 0 and "Marketing" not in out
    assert out.splitlines()[0].startswith("test -> prod: ")


def test_objects_and_workspaces_on_one_side_only(
    sandbox: Sandbox, client: TalendClient, capsys: pytest.CaptureFixture[str]
) -> None:
    environments = {e.name: e.id for e in client.environments.list()}
    client.workspaces.create(
        m.WorkspaceCreateRequest(name="Sales", environment_id=environments["dev"])
    )
    prod_finance = client.workspaces.get_by_name("Finance", environment_id=environments["prod"])
    assert prod_finance is not None and prod_finance.id is not None
    client.connections.create(
        m.ConnectionCreateRequest(
            name="audit_store",
            workspace_id=prod_finance.id,
            app="PostgreSQL",
            parameters=[
                m.ConnectionParameter(name="host", value="audit.prod.internal", encrypted=False),
                m.ConnectionParameter(name="password", value="prod-audit-password", encrypted=True),
            ],
        )
    )

    code, out, _err = diff_cli(capsys, "--from", "dev", "--to", "prod", "--output", "json")
    assert code == 0
    assert "prod-audit-password" not in out
    report = json.loads(out)
    states = {w["workspace"]: w["state"] for w in report["workspaces"]}
    assert states == {"Finance": "compared", "Marketing": "compared", "Sales": "only-from"}
    finance = next(w for w in report["workspaces"] if w["workspace"] == "Finance")
    audit = next(o for o in finance["objects"] if o["key"] == "audit_store")
    assert (audit["kind"], audit["state"], audit["fields"]) == ("connection", "only-to", [])

    code, out, _err = diff_cli(capsys, "--from", "dev", "--to", "prod")
    assert "Sales: the workspace exists only in dev" in out
    audit_line = next(line for line in out.splitlines() if "audit_store" in line)
    assert audit_line.split() == [
        "connection",
        "audit_store",
        "(only",
        "in",
        "prod)",
        "-",
        "present",
    ]


def test_no_drift_and_the_exit_code_for_ci(
    sandbox: Sandbox, client: TalendClient, capsys: pytest.CaptureFixture[str]
) -> None:
    environments = {e.name: e.id for e in client.environments.list()}
    for env in ("dev", "test"):
        client.workspaces.create(
            m.WorkspaceCreateRequest(name="Empty", environment_id=environments[env])
        )
    args = ("--from", "dev", "--to", "test")
    code, out, _err = diff_cli(capsys, *args, "--workspace", "Empty", "--exit-code")
    assert code == 0
    assert out.splitlines() == [
        "dev -> test: no drift (1 workspace(s) compared)",
        "Empty: no drift",
    ]
    code, _out, _err = diff_cli(capsys, *args, "--workspace", "Finance", "--exit-code")
    assert code == 1
    code, _out, _err = diff_cli(capsys, *args, "--workspace", "Finance")
    assert code == 0


def test_bad_arguments_say_what_to_fix(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _out, err = diff_cli(capsys, "--from", "dev", "--to", "qa")
    assert code == 2
    assert "environment 'qa' does not exist (environments: dev, prod, test)" in err
    assert "hint: check --to" in err
    code, _out, err = diff_cli(capsys, "--from", "dev", "--to", "dev")
    assert code == 2 and "--from and --to are both 'dev'" in err
    code, _out, err = diff_cli(capsys, "--from", "dev", "--to", "prod", "--workspace", "Nope")
    assert code == 2 and "workspace 'Nope' exists in neither dev nor prod" in err

    monkeypatch.delenv("TALEND_API_URL")
    code, out, _err = diff_cli(capsys, "--from", "dev", "--to", "prod", "--output", "json")
    assert code == 2
    assert json.loads(out)["hint"].startswith("set TALEND_API_URL")


def test_the_rich_table_masks_secrets_too(sandbox: Sandbox, client: TalendClient) -> None:
    report = drift(client, "dev", "prod", ["Finance"])
    buffer = io.StringIO()
    print_drift_table(report, Console(file=buffer, width=220, color_system=None))
    rendered = buffer.getvalue()
    assert "dev -> prod: 6 difference(s) in 1 workspace(s)" in rendered
    assert SECRET_DIFFERS in rendered and "finance-db.prod.internal" in rendered
    no_secret_in(rendered)


# ------------------------------------------------------------------ masking


def test_a_secret_on_either_side_hides_both_values() -> None:
    dev, prod = fingerprint("dev-password"), fingerprint("prod-password")
    both = masked_field(FieldChange(path="parameters.password", before=dev, after=prod))
    assert (both.from_value, both.to_value) == (SECRET_DIFFERS, SECRET_DIFFERS)
    one = masked_field(FieldChange(path="parameters.DB_PASSWORD", before=dev, after=None))
    assert (one.from_value, one.to_value) == (SECRET, None)
    # Marked secret on one side only: the other side's value is not shown either.
    mixed = masked_field(FieldChange(path="parameters.token", before=dev, after="plain-token"))
    assert (mixed.from_value, mixed.to_value) == (SECRET_DIFFERS, SECRET_DIFFERS)
    plain = masked_field(FieldChange(path="parameters.host", before="a", after="b"))
    assert (plain.from_value, plain.to_value) == ("a", "b")


def test_secrets_inside_added_objects_are_masked() -> None:
    added = {"parameters": {"host": "h", "password": fingerprint("x")}, "steps": [fingerprint("y")]}
    assert mask(added) == {"parameters": {"host": "h", "password": SECRET}, "steps": [SECRET]}
    field = masked_field(FieldChange(path="parameters", before=None, after=added["parameters"]))
    assert field.to_value == {"host": "h", "password": SECRET}
