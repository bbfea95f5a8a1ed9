"""Fixtures of the dashboard's tests: the demo's story on a real sandbox, its static sites, and
headless Chromium.

The story (release R1 verified in test, then promoted to prod and rolled back; a newer build
published in dev; release R2 refused by prod because test has not verified it) is built once
per test session — in process, with the engine and the built-in plugins, over HTTP to a sandbox
on 127.0.0.1 — and the static sites are written from it by ``promoter dashboard --out`` while
the sandbox runs. Under xdist the first worker builds it (behind a file lock) and the others
read the same files: the tests look at files and at Chromium's rendering of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from ux.conftest import CHROMIUM, chromium, chromium_args  # noqa: F401  (the fixture, reused)

from promoter.context import RunOptions
from promoter.engine import Engine, create_release
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import get_plugin_manager
from promoter.ledger import SQLiteLedger
from promoter.model import PromoterConfig, RunOutcome, RunStatus
from promoter.pipeline import load_pipeline
from promoter.sandbox import Sandbox, SandboxSettings
from promoter.talend.client import TalendClient
from promoter.talend.models import TaskUpdateRequest

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
PROBE = Path(__file__).with_name("probe.js")

FAST = SandboxSettings(budgets=None, dispatch_seconds=0.02, run_seconds=0.1)
PASSWORD = "dashboard-canary-Pa55w0rd-7f3a"
"""FINANCE_DB_PASSWORD of the story: resolved by the runs, never in a page."""
PARAMETER_SECRET = "dashboard-canary-api-key-51c9"
"""A secret parameter set on a dev task before R2 is made: a fingerprint in the release."""
NEW_BUILD = "1.2.0.20261203090000"


# --- the sandbox and the engine, in process ---------------------------------------------------


def dev_workspace_id(http: httpx.Client, environment: str = "dev") -> str:
    """The id of ``environment``'s Finance workspace, by raw HTTP."""
    environments = http.get("/orchestration/environments").json()
    env = next(e["id"] for e in environments if e["name"] == environment)
    workspaces = http.get("/orchestration/workspaces", params={"query": f"environment.id=={env}"})
    return str(next(w["id"] for w in workspaces.json() if w["name"] == "Finance"))


def publish_new_build(sandbox: Sandbox, name: str = "finance_ledger_sync") -> None:
    """A newer build of ``name`` lands in dev (as Studio or Maven would publish it)."""
    with sandbox.http() as http:
        body = {"workspaceId": dev_workspace_id(http), "name": name, "version": NEW_BUILD}
        published = http.post("/_sandbox/artifacts", json=body)
        assert published.status_code == 201, published.text


def set_parameter(sandbox: Sandbox, environment: str, task_name: str, name: str, value: str) -> None:
    """Someone edits a task's parameter by hand, through the API."""
    with TalendClient(sandbox.base_url, token=sandbox.token) as talend:
        env = talend.environments.get_by_name(environment)
        assert env is not None
        [summary] = [t for t in talend.tasks.list(environment_id=env.id) if t.name == task_name]
        task = talend.tasks.get(summary.executable)
        body = TaskUpdateRequest.from_task(task)
        body.parameters = {**(task.parameters or {}), name: value}
        talend.tasks.replace(task.id, body)


@dataclass
class InProcess:
    """``promoter`` in this process: the built-in plugins, a pipeline copy, a SQLite ledger."""

    root: Path
    ledger: SQLiteLedger

    @property
    def pipeline(self) -> Path:
        return self.root / "pipelines" / "release.yaml"

    def engine(self, command: str) -> tuple[Engine, Any]:
        pm = get_plugin_manager(load_entrypoints=False, disabled=())
        pm.check()
        hooks = PromoterHooks(pm)
        hooks.configure(PromoterConfig(command=command, cwd=self.root))
        loaded = load_pipeline(self.pipeline, variables={}, hooks=hooks)
        return Engine(hooks, self.ledger, lock_wait=0, lock_lease=30, command=command), loaded

    def create_release(self) -> str:
        """``promoter release create pipelines/release.yaml``: the release's id."""
        engine, loaded = self.engine("release")
        run = engine.context(loaded, target=None, options=RunOptions(dry_run=True, yes=True))
        return create_release(engine.hooks, self.ledger, run).release.id

    def promote(self, release: str, target: str, **extra: Any) -> RunOutcome:
        """``promoter promote pipelines/release.yaml --release ID --target T --yes``."""
        engine, loaded = self.engine("promote")
        options = RunOptions(yes=True, release=release, extra=extra)
        return engine.promote(engine.context(loaded, target=target, options=options))


def cli(*args: str) -> tuple[int, str, str]:
    """``promoter ARGS`` in this process: exit code, standard output, standard error."""
    from promoter.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exited:
            code = exited.code
        else:  # pragma: no cover - main() always exits
            code = 0
    return int(code or 0), out.getvalue(), err.getvalue()


@contextlib.contextmanager
def story_environment(sandbox: Sandbox, workdir: Path) -> Iterator[pytest.MonkeyPatch]:
    """The environment a ``promoter`` command of the story runs in (restored afterwards)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("PROMOTER_", "TALEND_")) or name == "GITHUB_STEP_SUMMARY":
                patch.delenv(name)
        patch.setenv("TALEND_API_URL", sandbox.base_url)
        patch.setenv("TALEND_ACCESS_TOKEN", sandbox.token)
        patch.setenv("FINANCE_DB_PASSWORD", PASSWORD)
        patch.setenv("PROMOTER_USER", "tester")
        patch.setenv("PROMOTER_DISABLE_PLUGINS", "sample")
        patch.chdir(workdir)
        yield patch


def copy_pipelines(workdir: Path) -> None:
    """``pipelines/`` and ``templates/`` of the repository, into ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "pipelines", workdir / "pipelines")
    shutil.copytree(REPO / "templates", workdir / "templates")


# --- the story ----------------------------------------------------------------------------------


@dataclass
class Story:
    """The demo's story, its ledger, and the static sites written from it."""

    home: Path
    facts: dict[str, Any]

    @property
    def workdir(self) -> Path:
        return self.home / "work"

    @property
    def ledger(self) -> Path:
        return self.workdir / "ledger.db"

    @property
    def site(self) -> Path:
        """``promoter dashboard pipelines/release.yaml --out site`` (checked against Talend)."""
        return self.home / "site"

    @property
    def paged(self) -> Path:
        """The same with ``--log-page-size 3``."""
        return self.home / "site-paged"

    def __getattr__(self, name: str) -> Any:
        try:
            return self.facts[name]
        except KeyError:
            raise AttributeError(name) from None


def _build_story(home: Path) -> None:
    workdir = home / "work"
    copy_pipelines(workdir)
    with Sandbox.start(seed="demo", settings=FAST) as sandbox, story_environment(sandbox, workdir):
        ledger = SQLiteLedger(workdir / "ledger.db")
        promoter = InProcess(workdir, ledger)
        try:
            r1 = promoter.create_release()
            tested = promoter.promote(r1, "test")
            assert tested.status is RunStatus.PROMOTED, tested.message
            prod = promoter.promote(r1, "prod", approve=True)
            # The demo estate's newest finance_ledger_sync fails in prod, by design.
            assert prod.status is RunStatus.ROLLED_BACK, prod.message
            [failed] = [c for c in prod.checks if not c.passed]
            publish_new_build(sandbox)
            set_parameter(sandbox, "dev", "Finance daily load", "API_PASSWORD", PARAMETER_SECRET)
            r2 = promoter.create_release()
            assert r2 != r1
            refused = promoter.promote(r2, "prod", approve=True)
            assert refused.status is RunStatus.BLOCKED and refused.exit_code == 4, refused.message
        finally:
            ledger.close()
        for site, extra in (("site", ()), ("site-paged", ("--log-page-size", "3"))):
            code, _, err = cli(
                "dashboard", "pipelines/release.yaml", "--out", str(home / site),
                "--ledger", str(workdir / "ledger.db"), *extra,
            )  # fmt: skip
            assert code == 0, err
        facts = {
            "r1": r1,
            "r2": r2,
            "test_run": tested.run_id,
            "prod_run": prod.run_id,
            "refused_run": refused.run_id,
            "failed_execution": failed.details["executionId"],
            "failed_task": failed.details["task"],
            "versions_r1": dict(tested.versions),
            "sandbox_token": sandbox.token,
        }
    (home / "story.json").write_text(json.dumps(facts, indent=2))


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory every xdist worker of this session shares (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """The demo's story and its static sites, built once per session (see the module)."""
    root = _shared_root(tmp_path_factory)
    home = root / "dashboard-story"
    with open(root / "dashboard-story.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "story.json").exists():
            shutil.rmtree(home, ignore_errors=True)
            _build_story(home)
    return Story(home, json.loads((home / "story.json").read_text()))


# --- Chromium -----------------------------------------------------------------------------------


def dump_dom(browser: Path, url: str, profile: Path, *extra: str) -> str:
    """The DOM Chromium built from ``url`` (after its scripts, if any, ran)."""
    return subprocess.run(
        [*chromium_args(browser, profile), *extra, "--dump-dom", url],
        capture_output=True, text=True, timeout=90, check=True,
    ).stdout  # fmt: skip


def screenshot(browser: Path, url: str, png: Path, profile: Path, size: str = "1280,1100") -> bytes:
    """A PNG of ``url`` as Chromium renders it, ``size`` pixels."""
    subprocess.run(
        [*chromium_args(browser, profile), f"--window-size={size}", f"--screenshot={png}", url],
        capture_output=True, timeout=90, check=True,
    )  # fmt: skip
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "Chromium wrote no PNG"
    return data


KEEP_IMAGES_ENV = "PROMOTER_UPDATE_SCREENSHOTS"
"""Set to 1 to refresh docs/images/ from a test run; otherwise tests never write into the repo."""


def keep_image(png: Path, name: str) -> None:
    """The screenshot stays as a test artifact next to ``png`` (the pytest tmp dir); with
    ``PROMOTER_UPDATE_SCREENSHOTS=1`` it is also copied into docs/images/ for the docs page."""
    if png.name != name:
        shutil.copyfile(png, png.with_name(name))
    if os.environ.get(KEEP_IMAGES_ENV) == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, IMAGES / name)


OFFLINE = (
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
"""Chromium flags under which any request to the network fails."""


def probe(browser: Path, site: Path, page: str, workdir: Path) -> dict[str, Any]:
    """What ``probe.js`` finds in ``site``'s ``page``, loaded offline: contrast, names, focus,
    SVG labels and every resource requested. The pages forbid scripts (their
    Content-Security-Policy), so the probe runs in a copy of the site (in ``workdir``) whose page
    lacks that one meta tag."""
    copy = workdir / "probed-site"
    if not copy.exists():
        shutil.copytree(site, copy)
    target = copy / page
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", (site / page).read_text())
    target.write_text(text.replace("</body>", f"<script>{PROBE.read_text()}</script></body>"))
    dom = dump_dom(browser, target.as_uri(), workdir / "profile", *OFFLINE)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, dom[-2000:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


# --- the rendered DOM, as a tree ------------------------------------------------------------------

BREAKS = frozenset({"br", "p", "div", "li", "tr", "td", "th", "dd", "dt", "pre", "h1", "h2", "h3", "ul", "ol", "table", "section"})
"""Elements whose text stands apart from what follows (a space in :meth:`Node.text`)."""
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


@dataclass
class Node:
    """An element of a DOM dump: tag, attributes, children (elements and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str]

    def text(self) -> str:
        """Its text, whitespace collapsed."""
        parts = [c if isinstance(c, str) else f"{c.text()}{' ' if c.tag in BREAKS else ''}" for c in self.children]
        return " ".join("".join(parts).split())

    def walk(self) -> Iterator[Node]:
        """It and every element under it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements under it with that tag and those attribute values (``class_`` for class:
        one of its classes)."""
        found = []
        for node in self.walk():
            if tag is not None and node.tag != tag:
                continue
            if all(
                (v in node.attrs.get("class", "").split()) if k == "class_" else node.attrs.get(k.replace("_", "-")) == v
                for k, v in attrs.items()
            ):
                found.append(node)
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        """The one element that matches."""
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> found"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, [])
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, [])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(dom: str) -> Node:
    """A DOM dump as a tree of :class:`Node`."""
    builder = _TreeBuilder()
    builder.feed(dom)
    return builder.root
