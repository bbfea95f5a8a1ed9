"""``promoter dashboard --serve``: the same pages, live, read-only — a real ``promoter`` process
on 127.0.0.1, read by Chromium and by raw HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from promoter.ledger import SQLiteLedger
from promoter.model import RunStatus
from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.models import ExecutionStartRequest

from .conftest import (
    FAST,
    PASSWORD,
    InProcess,
    copy_pipelines,
    dump_dom,
    parse,
    publish_new_build,
    set_parameter,
    story_environment,
)

REFRESH = 1
"""Seconds: how often the served pages reload, and the targets are read again."""


def run_in(sandbox: Sandbox, environment: str, task_name: str, outcome: str) -> str:
    """A scheduled run of a task in ``environment`` (the sandbox decides its outcome); its id."""
    with TalendClient(sandbox.base_url, token=sandbox.token) as talend:
        env = talend.environments.get_by_name(environment)
        assert env is not None
        [task] = [t for t in talend.tasks.list(environment_id=env.id) if t.name == task_name]
        ended = talend.executions.run(
            ExecutionStartRequest(executable=task.executable, parameters={"SANDBOX_OUTCOME": outcome}),
            timeout=30,
        )
        assert ended.status.value == outcome
        return ended.execution_id


@contextmanager
def serving(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``promoter dashboard pipelines/release.yaml --serve --port 0 ARGS`` in a subprocess;
    yields its URL (from the line it prints first) and stops it afterwards."""
    log = workdir / f"serve-{time.monotonic_ns()}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "promoter.cli", "dashboard", "pipelines/release.yaml", "--serve",
             "--port", "0", "--ledger", str(workdir / "ledger.db"), *args],
            cwd=workdir, env=env if env is not None else dict(os.environ),
            stderr=stderr, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not log.read_text().endswith("\n") and process.poll() is None:
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.05)
        line = log.read_text().splitlines()[0] if log.read_text() else ""
        assert line.startswith("serving http://127.0.0.1:"), log.read_text()
        yield line.split()[1]
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()  # SIGTERM stops it like Ctrl-C
        assert "stopped" in log.read_text()


@pytest.fixture(scope="module")
def prod_promoted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    """A release verified in test and promoted to prod (the newer build passes there)."""
    workdir = tmp_path_factory.mktemp("serve") / "work"
    copy_pipelines(workdir)
    with Sandbox.start(seed="demo", settings=FAST) as sandbox:
        with story_environment(sandbox, workdir):
            publish_new_build(sandbox)
            ledger = SQLiteLedger(workdir / "ledger.db")
            try:
                promoter = InProcess(workdir, ledger)
                release = promoter.create_release()
                for target in ("test", "prod"):
                    outcome = promoter.promote(release, target, approve=True)
                    assert outcome.status is RunStatus.PROMOTED, outcome.message
            finally:
                ledger.close()
        yield sandbox, workdir


def test_a_hand_made_change_in_prod_shows_as_drift_on_the_next_refresh(
    prod_promoted: tuple[Sandbox, Path], chromium: Path, tmp_path: Path
) -> None:
    sandbox, workdir = prod_promoted
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PROMOTER_", "TALEND_"))},
        "TALEND_API_URL": sandbox.base_url,
        "TALEND_ACCESS_TOKEN": sandbox.token,
        "FINANCE_DB_PASSWORD": PASSWORD,
        "PROMOTER_DISABLE_PLUGINS": "sample",
    }
    with serving(workdir, "--refresh", str(REFRESH), env=environ) as url:
        before = parse(dump_dom(chromium, url, tmp_path / "profile"))
        prod = before.one("tr", data_pipeline="finance-release").one("td", data_environment="prod")
        assert prod.one("div", class_="drift").attrs["data-state"] == "none"
        assert before.one("meta", http_equiv="refresh").attrs["content"] == str(REFRESH)

        health = prod.one("p", class_="health")
        assert health.attrs["data-failures"] == "0" and health.all("a") == []

        # Someone changes a prod task by hand, in Talend; and a scheduled run fails there.
        set_parameter(sandbox, "prod", "Finance daily load", "LOG_LEVEL", "DEBUG")
        failed = run_in(sandbox, "prod", "Finance ledger sync", "execution_failed")
        time.sleep(REFRESH + 0.2)  # past the refresh interval: the next load reads prod again

        after = parse(dump_dom(chromium, url, tmp_path / "profile"))
        prod = after.one("tr", data_pipeline="finance-release").one("td", data_environment="prod")
        drift = prod.one("div", class_="drift")
        assert drift.attrs["data-state"] == "drift"
        assert [li.text() for li in drift.all("li")] == ["update task:Finance daily load"]
        test = after.one("tr", data_pipeline="finance-release").one("td", data_environment="test")
        assert test.one("div", class_="drift").attrs["data-state"] == "none"
        # Health since the promotion: the failed run, and its log one click away.
        health = prod.one("p", class_="health")
        assert health.attrs["data-failures"] == "1" and "Finance ledger sync" in health.text()
        log = health.one("a").attrs["href"]
        assert log == f"logs/{failed}/1.html"
        log_page = parse(dump_dom(chromium, url + log, tmp_path / "profile"))
        [error] = log_page.one("table", id="log").all("tr", class_="error")
        assert error.attrs["data-severity"] == "ERROR"

        # The other pages are served at the same paths as in a static site.
        with httpx.Client(base_url=url, timeout=30) as http:
            runs = http.get("/runs.html")
            assert runs.status_code == 200 and "text/html" in runs.headers["content-type"]
            assert "default-src 'none'" in runs.headers["content-security-policy"]
            first = runs.text.split('href="runs/', 1)[1].split('"', 1)[0]
            assert http.get(f"/runs/{first}").status_code == 200
            assert http.get("/runs/no-such-run.html").status_code == 404
            assert http.get("/logs/not-an-execution-we-know/1.html").status_code == 404
            assert http.get("/../ledger.db").status_code == 404


def test_serving_is_read_only_and_off_loopback_needs_a_token(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    copy_pipelines(workdir)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROMOTER_", "TALEND_"))}
    # Pipeline files are read as by every command: their secret references must resolve.
    environ.update(PROMOTER_DISABLE_PLUGINS="sample", FINANCE_DB_PASSWORD=PASSWORD)
    token = "dashboard-token-0c1d2e3f"

    refused = subprocess.run(
        [sys.executable, "-m", "promoter.cli", "dashboard", "pipelines/release.yaml", "--serve",
         "--host", "0.0.0.0", "--port", "0", "--no-check", "--ledger", str(workdir / "ledger.db")],
        cwd=workdir, env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "needs a bearer token" in refused.stderr and "PROMOTER_DASHBOARD_TOKEN" in refused.stderr

    served = serving(workdir, "--no-check", env={**environ, "PROMOTER_DASHBOARD_TOKEN": token})
    with served as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/").status_code == 401
        assert http.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        page = http.get("/", headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200 and "What runs where" in page.text
        assert token not in page.text
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            answer = http.request(method, "/", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD"
