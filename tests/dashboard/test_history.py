"""A long history is paged: the runs and releases lists hold 50 rows a page, each page links the
next and the previous, every run and release of the window has its page — and a run that has
recorded no outcome yet says so instead of showing a report; a held lock shows on its phase."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from promoter.dashboard.data import Dashboard, Source
from promoter.dashboard.site import PAGE_SIZE, Site
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import get_plugin_manager
from promoter.ledger import HOSTNAME, RunRecord, SQLiteLedger
from promoter.model import ExportBundle, RunStatus, TargetRef
from promoter.pipeline import load_pipeline
from promoter.release import Release

from .conftest import PASSWORD, REPO, parse

RUNS = 2 * PAGE_SIZE + 20
RELEASES = PAGE_SIZE + 5


def test_a_long_history_is_paged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINANCE_DB_PASSWORD", PASSWORD)
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    source = TargetRef(environment="dev", workspace="Finance")
    for n in range(RELEASES):
        ledger.add_release(
            Release(
                id=f"finance-release-2026.11.{n:03d}",
                digest=f"sha256:{n:064x}",
                pipeline="finance-release",
                source="dev/Finance",
                created_at=start + timedelta(hours=n),
                versions={"finance_daily_load": f"0.{n}.0"},
                bundle=ExportBundle(source=source, versions={"finance_daily_load": f"0.{n}.0"}),
            )
        )
    for n in range(RUNS):
        run_id = f"20261101-{n:06d}-abcdef"
        ledger.create_run(
            RunRecord(
                id=run_id,
                created_at=(start + timedelta(minutes=n)).isoformat(timespec="milliseconds"),
                user="alice",
                host=HOSTNAME,
                pid=os.getpid(),
                command="promote",
                pipeline_name="finance-release",
                pipeline_file=str(REPO / "pipelines" / "release.yaml"),
                pipeline_sha256="0" * 64,
                source="dev/Finance",
                target="test/Finance",
            )
        )
        ledger.set_status(run_id, RunStatus.BLOCKED if n % 2 else RunStatus.FAILED, exit_code=4)
    # A run holds test's lock while the site is made: its cell says who.
    holder = f"20261101-{RUNS - 1:06d}-abcdef"
    ledger.acquire_lock("test/Finance", run_id=holder, owner="alice", lease=300, wait=0)
    pm = get_plugin_manager(load_entrypoints=False, disabled=())
    hooks = PromoterHooks(pm)
    loaded = load_pipeline(REPO / "pipelines" / "release.yaml", hooks=hooks)
    dashboard = Dashboard(hooks, ledger, [Source("release.yaml", loaded)], check_target=False)
    try:
        Site(dashboard).write(tmp_path / "site")
    finally:
        ledger.release_lock("test/Finance", run_id=holder)
        ledger.close()
    site = tmp_path / "site"
    matrix = parse((site / "index.html").read_text())
    lock = matrix.one("td", data_environment="test").one("p", class_="lock")
    assert lock.text().startswith(f"locked run {holder} by alice@")
    assert matrix.one("td", data_environment="prod").all("p", class_="lock") == []

    lists = sorted(p.name for p in site.glob("runs*.html"))
    assert lists == ["runs-2.html", "runs-3.html", "runs.html"]
    seen: list[str] = []
    for number, name in enumerate(["runs.html", "runs-2.html", "runs-3.html"], start=1):
        dom = parse((site / name).read_text())
        rows = dom.one("table", id="runs").one("tbody").all("tr")
        seen += [r.attrs["data-run"] for r in rows]
        assert len(rows) == (PAGE_SIZE if number < 3 else RUNS - 2 * PAGE_SIZE)
        pager = dom.all("nav", class_="pager")[0]
        links = {a.attrs["rel"]: a.attrs["href"] for a in pager.all("a")}
        assert links.get("prev") == {1: None, 2: "runs.html", 3: "runs-2.html"}[number]
        assert links.get("next") == {1: "runs-2.html", 2: "runs-3.html", 3: None}[number]
        assert f"page {number} of 3" in pager.text()
    assert seen == [f"20261101-{n:06d}-abcdef" for n in reversed(range(RUNS))]  # newest first
    assert len(list((site / "runs").glob("*.html"))) == RUNS
    # These runs recorded no outcome: their pages say so, and link no report that is not there.
    page = (site / "runs" / "20261101-000000-abcdef.html").read_text()
    assert "No report yet" in page and "<iframe" not in page
    assert not (site / "runs" / "20261101-000000-abcdef").exists()

    releases = sorted(p.name for p in site.glob("releases*.html"))
    assert releases == ["releases-2.html", "releases.html"]
    second = parse((site / "releases-2.html").read_text()).one("table", id="releases")
    assert [r.attrs["data-release"] for r in second.one("tbody").all("tr")] == [
        f"finance-release-2026.11.{n:03d}" for n in reversed(range(RELEASES - PAGE_SIZE))
    ]
    assert len(list((site / "releases").glob("*.html"))) == RELEASES
    for path in site.rglob("*.html"):
        for target in re.findall(r'(?:href|src)="([^"#]+)', path.read_text()):
            assert (path.parent / target).resolve().is_file(), f"{path.name}: {target}"
