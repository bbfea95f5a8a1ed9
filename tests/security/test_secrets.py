"""Canary secrets never leak: not in stdout or stderr, debug logs, the ledger's bytes, any report,
exception text, or ``promoter show``.

Four canaries, each where a real secret lives: the database password in an environment variable
(``FINANCE_DB_PASSWORD``, written into task parameters and a created connection), an encrypted
parameter of the source's connection in the sandbox, the personal access token, and the OAuth
client secret (plus its HTTP Basic form). One promotion succeeds (to test, with the token), one
fails its smoke tests and is rolled back (to prod, with client credentials); runs with a refused
token and a refused client secret fail on authentication.
"""

from __future__ import annotations

import base64
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability.estate import REPO, Workbench, fast_settings

from promoter.cli import main
from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.models import ConnectionParameter, ConnectionUpdateRequest

DB_PASSWORD = "CANARY-db-password-5d1e0c"
CONNECTION_SECRET = "CANARY-connection-secret-a83f21"
TOKEN = "CANARY-access-token-77c9e4"
CLIENT_ID = "canary-client"
CLIENT_SECRET = "CANARY-client-secret-0b6d52"
WRONG_TOKEN = "CANARY-wrong-token-3e8a17"
WRONG_SECRET = "CANARY-wrong-secret-9c2f40"
CANARIES = (
    DB_PASSWORD,
    CONNECTION_SECRET,
    TOKEN,
    CLIENT_SECRET,
    WRONG_TOKEN,
    WRONG_SECRET,
    base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
    base64.b64encode(f"{CLIENT_ID}:{WRONG_SECRET}".encode()).decode(),
)
RELEASE = "pipelines/release.yaml"


def leaks(text: str | bytes, where: str) -> list[str]:
    """``where: canary`` for every canary found in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return [f"{where}: {canary}" for canary in CANARIES if canary.encode() in data]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    settings = fast_settings(tokens={TOKEN}, clients={CLIENT_ID: CLIENT_SECRET})
    with Sandbox.start(seed="demo", settings=settings) as running:
        # The source's warehouse connection holds an encrypted canary.
        with TalendClient(running.base_url, token=TOKEN) as client:
            dev = client.environments.get_by_name("dev")
            assert dev is not None
            finance = client.workspaces.get_by_name("Finance", environment_id=dev.id)
            assert finance is not None and finance.id is not None
            connection = client.connections.find("finance_warehouse", workspace_id=finance.id)
            assert connection is not None
            parameters = [p for p in connection.parameters if p.name != "password"]
            parameters.append(ConnectionParameter(name="password", value=CONNECTION_SECRET, encrypted=True))
            client.connections.update(connection.id, ConnectionUpdateRequest(parameters=parameters))
        yield running


def working_copy(root: Path) -> None:
    """The shipped pipeline and template, with the warehouse mapped to a connection the targets
    lack — so that the connection template (and its secret) is used."""
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "templates", root / "templates")
    release = root / RELEASE
    release.write_text(
        release.read_text().replace(
            "connections:\n  map: {}", "connections:\n  map: {finance_warehouse: finance_dwh}"
        )
    )


def test_canaries_stay_out_of_outputs_ledger_and_reports(sandbox: Sandbox, tmp_path: Path) -> None:
    working_copy(tmp_path)
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": DB_PASSWORD})
    found: list[str] = []
    reports = tmp_path / "report-files"

    token_env = bench.env(TALEND_ACCESS_TOKEN=TOKEN)
    oauth_env = bench.env(
        TALEND_ACCESS_TOKEN=None, TALEND_CLIENT_ID=CLIENT_ID, TALEND_CLIENT_SECRET=CLIENT_SECRET
    )
    runs = []
    for name, env, args, code in (
        ("promoted", token_env, ("--target", "test"), 0),
        ("rolled back", oauth_env, ("--target", "prod", "--approve"), 1),
    ):
        done = bench.cli("promote", RELEASE, *args, "--yes", "--report-dir", str(reports), env=env)
        assert done.returncode == code, (name, done.stderr[-3000:])
        found += leaks(done.stdout, f"{name} stdout") + leaks(done.stderr, f"{name} stderr")
        runs.append(bench.runs()[0]["id"])
    statuses = {r["id"]: r["status"] for r in bench.runs()}
    assert [statuses[r] for r in runs] == ["promoted", "rolled-back"]

    # Refused credentials: the error text names the problem, never the value.
    for name, env in (
        ("wrong token", bench.env(TALEND_ACCESS_TOKEN=WRONG_TOKEN)),
        (
            "wrong client secret",
            bench.env(
                TALEND_ACCESS_TOKEN=None,
                TALEND_CLIENT_ID=CLIENT_ID,
                TALEND_CLIENT_SECRET=WRONG_SECRET,
            ),
        ),
    ):
        refused = bench.cli("promote", RELEASE, "--target", "test", "--yes", env=env)
        assert refused.returncode != 0
        assert "401" in refused.stderr + refused.stdout or "nauthori" in refused.stderr + refused.stdout
        found += leaks(refused.stdout + refused.stderr, f"{name} output")

    for run_id in runs:
        for output in ("text", "json"):
            shown = bench.call("show", run_id, "--output", output)
            assert shown.returncode == 0
            found += leaks(shown.stdout + shown.stderr, f"show {run_id} ({output})")
    history = bench.call("history")
    found += leaks(history.stdout, "history")

    for path in tmp_path.parent.glob(f"{tmp_path.name}/ledger.db*"):
        found += leaks(path.read_bytes(), path.name)
    written = [p for p in reports.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".json", ".xml", ".md", ".html"}, written
    for path in [*written, *(tmp_path / "reports").rglob("*")]:
        if path.is_file():
            found += leaks(path.read_bytes(), str(path.relative_to(tmp_path)))
    # The secret did reach where it belongs: the created connection in test holds it.
    with TalendClient(sandbox.base_url, token=TOKEN) as client:
        test = client.environments.get_by_name("test")
        assert test is not None
        finance = client.workspaces.get_by_name("Finance", environment_id=test.id)
        assert finance is not None and finance.id is not None
        created = client.connections.find("finance_dwh", workspace_id=finance.id)
        assert created is not None
        assert {p.name: p.value for p in created.parameters}["password"] == DB_PASSWORD
    assert found == []


def test_canaries_stay_out_of_debug_logs(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process runs with every logger at DEBUG (httpx, httpcore, promoter, the sandbox)."""
    working_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    for key in ("TALEND_REGION", "PROMOTER_DISABLE_PLUGINS", "PROMOTER_LOCK_WAIT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TALEND_API_URL", sandbox.base_url)
    monkeypatch.setenv("PROMOTER_LEDGER", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("FINANCE_DB_PASSWORD", DB_PASSWORD)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))
            if record.exc_info and record.exc_info[1] is not None:
                records.append(repr(record.exc_info[1]))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    codes = []
    try:
        for target, credentials in (
            (("--target", "test"), {"TALEND_ACCESS_TOKEN": TOKEN}),
            (
                ("--target", "prod", "--approve"),
                {"TALEND_CLIENT_ID": CLIENT_ID, "TALEND_CLIENT_SECRET": CLIENT_SECRET},
            ),
            (("--target", "test"), {"TALEND_ACCESS_TOKEN": WRONG_TOKEN}),
        ):
            for key in ("TALEND_ACCESS_TOKEN", "TALEND_CLIENT_ID", "TALEND_CLIENT_SECRET"):
                monkeypatch.delenv(key, raising=False)
            for key, value in credentials.items():
                monkeypatch.setenv(key, value)
            with pytest.raises(SystemExit) as exited:
                main(["promote", RELEASE, *target, "--yes", "--output", "json"])
            codes.append(exited.value.code)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    out, err = capsys.readouterr()
    assert codes[:2] == [0, 1] and codes[2] != 0
    assert len(records) > 50, "DEBUG logging captured next to nothing"
    found = leaks(out, "stdout") + leaks(err, "stderr")
    found += [leak for line in records for leak in leaks(line, "log")]
    assert found == []
