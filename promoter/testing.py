"""pytest fixtures for promoter's own tests and for plugin and pipeline authors.

Registered under the ``pytest11`` entry point, so they are available wherever promoter is
installed — no ``conftest.py`` needed:

``talend_sandbox``
    A running sandbox (demo estate, in-memory state, rate limits off) on a free port on 127.0.0.1:
    ``.base_url``, ``.token``, ``.client()`` (a :class:`~promoter.talend.client.TalendClient` for
    it), ``.requests()`` (its request log), ``.set_faults(...)``. Mark a test with
    ``@pytest.mark.sandbox_seed("large", tasks=250)`` to choose another seed.
``talend_client``
    A :class:`~promoter.talend.client.TalendClient` for ``talend_sandbox``, closed after the test.
``promoter_runner``
    Runs ``promoter`` commands in-process against ``talend_sandbox``, exactly as the command line
    does (installed plugins, ``PROMOTER_DISABLE_PLUGINS``, plugin options), with a ledger and a
    working directory of its own::

        result = promoter_runner.promote("pipelines/release.yaml", target="test")
        assert result.exit_code == 0 and result.outcome.status == "promoted"
        result.ledger.get_run(result.run_id); result.document("gates"); result.report_dir

    ``promoter_runner.pipeline(notify={...})`` writes a pipeline for the demo estate with extra
    sections, for plugin tests that must not depend on a repository's files.
``plugin_manager``
    A fresh plugin manager: the built-in plugins, no entry points, nothing blocked.
``register_plugin``
    ``register_plugin(obj, name=None)``: a plugin registered for one test, in ``plugin_manager``
    and in every run of ``promoter_runner``.
``hook_recorder``
    Records every hook call of ``plugin_manager`` and of ``promoter_runner``'s runs, with its
    arguments: ``hook_recorder.calls_of("promoter_gate")[0].kwargs["plan"]``.
``webhook_receiver``
    A tiny HTTP server on a free port that records the JSON bodies POSTed to it (``.url``,
    ``.requests``, ``.fail_next(n, status)``) — for plugins that call webhooks.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from promoter import hookimpl

if TYPE_CHECKING:
    from pluggy import HookImpl

    from promoter.context import RunContext
    from promoter.hooks.manager import PromoterPluginManager
    from promoter.ledger import SQLiteLedger
    from promoter.model import RunOutcome
    from promoter.sandbox import Sandbox
    from promoter.talend.client import TalendClient

__all__ = [
    "DEMO_PIPELINE",
    "CommandResult",
    "HookCall",
    "HookRecorder",
    "PluginRegistrar",
    "PromoterRunner",
    "PromotionResult",
    "TalendSandbox",
    "WebhookReceiver",
]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers the fixtures read."""
    config.addinivalue_line(
        "markers", "sandbox_seed(name, **options): the seed of the talend_sandbox fixture"
    )


# --- the sandbox ----------------------------------------------------------------------------------


class TalendSandbox:
    """A running :class:`~promoter.sandbox.Sandbox` that also hands out clients for itself.

    Every attribute of the sandbox (``base_url``, ``token``, ``requests()``, ``set_faults()``,
    ``state``...) is available here too.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sandbox, name)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.sandbox.base_url

    @property
    def token(self) -> str:
        """A valid access token."""
        return self.sandbox.token

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The sandbox's request log: ``{seq, method, path, query, status, ...}`` per request."""
        return self.sandbox.requests(since)

    def client(self, **options: Any) -> TalendClient:
        """A :class:`TalendClient` for this sandbox, authenticated with :attr:`token` (close it)."""
        from promoter.talend.client import TalendClient

        return TalendClient(self.base_url, token=self.token, **options)

    def environ(self) -> dict[str, str]:
        """The environment variables that point promoter's Talend stages at this sandbox."""
        return {"TALEND_API_URL": self.base_url, "TALEND_ACCESS_TOKEN": self.token}


@pytest.fixture
def talend_sandbox(request: pytest.FixtureRequest) -> Iterator[TalendSandbox]:
    """A running sandbox for one test: ``.base_url``, ``.token``, ``.client()``, ``.requests()``."""
    from promoter.sandbox import Sandbox, SandboxSettings

    marker = request.node.get_closest_marker("sandbox_seed")
    seed: str = marker.args[0] if marker and marker.args else "demo"
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    settings = SandboxSettings(budgets=None, dispatch_seconds=0.05, run_seconds=0.2)
    with Sandbox.start(seed=seed, settings=settings, **options) as sandbox:
        yield TalendSandbox(sandbox)


@pytest.fixture
def talend_client(talend_sandbox: TalendSandbox) -> Iterator[TalendClient]:
    """A Talend client for ``talend_sandbox``."""
    client = talend_sandbox.client()
    try:
        yield client
    finally:
        client.close()


# --- plugin managers, plugins, hook calls ---------------------------------------------------------


@dataclass(frozen=True)
class HookCall:
    """One hook call: the hook's name, its keyword arguments, and what the call returned."""

    name: str
    kwargs: dict[str, Any]
    result: Any = None
    plugins: tuple[str, ...] = ()
    """The plugins whose implementations were called (first called first)."""


class HookRecorder:
    """Records the hook calls of the plugin managers it is attached to (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[HookCall] = []
        self._lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []

    def attach(self, pm: PromoterPluginManager) -> None:
        """Start recording ``pm``'s hook calls."""

        def before(hook_name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]) -> None:
            return None

        def after(
            outcome: Any, hook_name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]
        ) -> None:
            try:
                result = outcome.get_result()
            except BaseException as exc:  # the call raised: record the exception
                result = exc
            call = HookCall(
                name=hook_name,
                kwargs=dict(kwargs),
                result=result,
                plugins=tuple(i.plugin_name for i in reversed(list(impls))),
            )
            with self._lock:
                self.calls.append(call)

        self._undo.append(pm.add_hookcall_monitoring(before, after))

    def detach(self) -> None:
        """Stop recording everywhere."""
        while self._undo:
            self._undo.pop()()

    def calls_of(self, name: str) -> list[HookCall]:
        """The calls of hook ``name``, in order."""
        with self._lock:
            return [c for c in self.calls if c.name == name]

    def names(self) -> list[str]:
        """The names of the hooks called, in order (with repeats)."""
        with self._lock:
            return [c.name for c in self.calls]

    def clear(self) -> None:
        """Forget the calls recorded so far."""
        with self._lock:
            self.calls.clear()


@pytest.fixture
def hook_recorder() -> Iterator[HookRecorder]:
    """Records the hook calls of ``plugin_manager`` and of ``promoter_runner``'s runs."""
    recorder = HookRecorder()
    try:
        yield recorder
    finally:
        recorder.detach()


@pytest.fixture
def plugin_manager(hook_recorder: HookRecorder) -> PromoterPluginManager:
    """A fresh plugin manager: promoter's built-in plugins, no entry points, nothing blocked."""
    from promoter.hooks.manager import get_plugin_manager

    pm = get_plugin_manager(load_entrypoints=False, disabled=())
    hook_recorder.attach(pm)
    return pm


class PluginRegistrar:
    """``register_plugin(obj, name=None)``: register a plugin object for the current test."""

    def __init__(self, pm: PromoterPluginManager) -> None:
        self.pm = pm
        self.plugins: list[tuple[str, object]] = []

    def __call__(self, plugin: object, name: str | None = None) -> str:
        """Register ``plugin`` (a module, class instance...) and return its name."""
        from promoter.hooks.manager import PluginOrigin

        found = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        plugin_name = str(found)
        origin = PluginOrigin(source="object", location=f"test plugin {plugin_name}")
        self.pm.register_plugin(plugin, plugin_name, origin)
        self.plugins.append((plugin_name, plugin))
        return plugin_name

    def unregister_all(self) -> None:
        """Unregister every plugin registered through this object."""
        for name, _plugin in reversed(self.plugins):
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
                self.pm.origins.pop(name, None)
        self.plugins.clear()


@pytest.fixture
def register_plugin(plugin_manager: PromoterPluginManager) -> Iterator[PluginRegistrar]:
    """Register a plugin for one test (in ``plugin_manager`` and in ``promoter_runner``'s runs)."""
    registrar = PluginRegistrar(plugin_manager)
    try:
        yield registrar
    finally:
        registrar.unregister_all()


# --- a webhook receiver ---------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    """One request the receiver got: path, headers and the body (parsed when it is JSON)."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """A local HTTP server (own thread, free port) that records every POST it answers."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver._failures.pop(0) if receiver._failures else 200
                    receiver.requests.append(
                        ReceivedRequest(self.path, dict(self.headers.items()), body, status)
                    )
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (any path is accepted)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (to exercise retries)."""
        with self._lock:
            self._failures.extend([status] * count)

    def bodies(self, path: str | None = None) -> list[Any]:
        """The JSON bodies of the requests answered with 200 (to ``path``, when given)."""
        with self._lock:
            return [
                r.json
                for r in self.requests
                if r.status == 200 and (path is None or r.path == path)
            ]

    def start(self) -> WebhookReceiver:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A running local webhook receiver that records POSTed bodies."""
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


# --- running promoter in-process ------------------------------------------------------------------

DEMO_PIPELINE: dict[str, Any] = {
    "name": "finance-release",
    "kind": "release",
    "source": {"environment": "dev", "workspace": "Finance"},
    "targets": [{"environment": "test"}, {"environment": "prod"}],
    "artifacts": [
        {"name": "finance_daily_load", "version": "latest"},
        {"name": "finance_ledger_sync", "version": "latest"},
    ],
    "verify": {"smoke": [{"task": "Finance ledger sync", "timeout": 60}]},
    "reports": {"dir": "reports", "formats": ["json"]},
}
"""A pipeline for the sandbox's demo estate: the Finance artifacts, dev -> test -> prod.

Promoting to ``test`` succeeds; to ``prod`` the smoke run of "Finance ledger sync" fails on
purpose, so the run is rolled back.
"""


@dataclass
class CommandResult:
    """What an in-process ``promoter`` command gave: exit code, standard output and error."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Standard output parsed as JSON (for ``--output json``)."""
        return json.loads(self.stdout)


@dataclass
class PromotionResult(CommandResult):
    """What ``promoter_runner.promote`` gave: the outcome, the run, the ledger, the reports."""

    outcome: RunOutcome | None = None
    """The run's outcome (``None`` when the command failed before a run started)."""
    run: RunContext | None = None
    """The run context the stages received."""
    ledger_path: Path = field(default_factory=Path)
    report_dir: Path | None = None
    """Where the run's report files are (``reports.dir`` of the pipeline)."""
    _runner: PromoterRunner | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        """The run's id."""
        assert self.outcome is not None, f"no run started:\n{self.stdout}\n{self.stderr}"
        return self.outcome.run_id

    @property
    def ledger(self) -> SQLiteLedger:
        """The runner's ledger (open until the end of the test)."""
        assert self._runner is not None
        return self._runner.ledger

    def document(self, kind: str) -> Any:
        """A document the ledger keeps for this run (``plan``, ``gates``, ``checks``...), parsed."""
        body = self.ledger.document(self.run_id, kind)
        return None if body is None else json.loads(body)

    def reports(self) -> list[Path]:
        """The report files this run wrote (under ``report_dir``, named after the run's id)."""
        if self.report_dir is None or not self.report_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.report_dir.rglob("*")
            if p.is_file() and self.run_id in p.relative_to(self.report_dir).as_posix()
        )


class _RunProbe:
    """An internal plugin of the runner: keeps the run context the stages received."""

    def __init__(self) -> None:
        self.run: RunContext | None = None

    @hookimpl
    def promoter_run_started(self, run: RunContext) -> None:
        """Keep the run context."""
        self.run = run


class PromoterRunner:
    """Runs ``promoter`` commands in-process against a sandbox (see ``promoter_runner``)."""

    def __init__(
        self,
        sandbox: TalendSandbox,
        workdir: Path,
        monkeypatch: pytest.MonkeyPatch,
        registrar: PluginRegistrar,
        recorder: HookRecorder,
    ) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.ledger_path = workdir / ".promoter" / "ledger.db"
        self.env: dict[str, str | None] = {
            **sandbox.environ(),
            "PROMOTER_USER": "tester",
            "PROMOTER_LOCK_WAIT": "5",
        }
        """Environment variables of every command (``None`` removes one); change it freely."""
        self._monkeypatch = monkeypatch
        self._registrar = registrar
        self._recorder = recorder
        self._ledger: SQLiteLedger | None = None

    @property
    def ledger(self) -> SQLiteLedger:
        """The runner's ledger, opened on first use."""
        if self._ledger is None:
            from promoter.ledger import SQLiteLedger

            self._ledger = SQLiteLedger(self.ledger_path)
        return self._ledger

    def close(self) -> None:
        """Close the ledger."""
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def pipeline(
        self,
        name: str = "release.yaml",
        *,
        base: Mapping[str, Any] | None = None,
        smoke: bool = True,
        **sections: Any,
    ) -> Path:
        """Write a pipeline file into the working directory and return its path.

        ``base`` defaults to :data:`DEMO_PIPELINE`; ``sections`` replace or add top-level
        sections (``notify={...}``). ``smoke=False`` drops the smoke runs (faster runs).
        """
        document = json.loads(json.dumps(dict(base if base is not None else DEMO_PIPELINE)))
        if not smoke:
            document.pop("verify", None)
        document.update(sections)
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        return path

    def copy_pipeline(self, source: str | Path, *, with_dirs: Sequence[str] = ()) -> Path:
        """Copy a pipeline file (and sibling directories it refers to, like ``../templates``)."""
        src = Path(source).resolve()
        dest_dir = self.workdir / src.parent.name
        dest_dir.mkdir(parents=True, exist_ok=True)
        for directory in with_dirs:
            origin = (src.parent / directory).resolve()
            shutil.copytree(origin, (dest_dir / directory).resolve(), dirs_exist_ok=True)
        dest = dest_dir / src.name
        shutil.copy(src, dest)
        return dest

    def promote(
        self,
        pipeline: str | Path,
        *,
        target: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str | None] | None = None,
        yes: bool = True,
    ) -> PromotionResult:
        """``promoter promote PIPELINE --target TARGET --yes EXTRA_ARGS`` in-process."""
        path = Path(pipeline).resolve()
        args = ["promote", str(path), "--output", "json", "--ledger", str(self.ledger_path)]
        if target is not None:
            args += ["--target", target]
        if yes:
            args.append("--yes")
        args += list(extra_args)
        probe = _RunProbe()
        result = self.cli(*args, env=env, _probe=probe)
        outcome = None
        report_dir = None
        if probe.run is not None:
            from promoter.model import RunOutcome

            body = self.ledger.document(probe.run.run_id, "outcome")
            outcome = RunOutcome.model_validate_json(body) if body else None
            report_dir = self.workdir / probe.run.pipeline.reports.dir
        return PromotionResult(
            exit_code=result.exit_code,
            stdout=result.stdout,
            stderr=result.stderr,
            outcome=outcome,
            run=probe.run,
            ledger_path=self.ledger_path,
            report_dir=report_dir,
            _runner=self,
        )

    def cli(
        self,
        *args: str,
        env: Mapping[str, str | None] | None = None,
        _probe: _RunProbe | None = None,
    ) -> CommandResult:
        """Any ``promoter`` command in-process, in the runner's working directory."""
        import click

        from promoter.cli import cli
        from promoter.cli.options import use_plugin_manager
        from promoter.errors import PromoterError
        from promoter.hooks.manager import PluginOrigin, get_plugin_manager

        stdout, stderr = io.StringIO(), io.StringIO()
        with self._monkeypatch.context() as patch:
            for name, value in {**self.env, **(env or {})}.items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            patch.chdir(self.workdir)
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    pm = get_plugin_manager(load_entrypoints=True)
                    for name, plugin in self._registrar.plugins:
                        pm.register_plugin(plugin, name, PluginOrigin("object", f"test {name}"))
                    if _probe is not None:
                        pm.register(_probe, name="promoter.testing.probe")
                    self._recorder.attach(pm)
                    ctx = cli.make_context("promoter", list(args))
                    use_plugin_manager(ctx, pm)
                    with ctx:
                        value = cli.invoke(ctx)
                    code = value if isinstance(value, int) else 0
                except click.exceptions.Exit as exc:
                    code = exc.exit_code
                except click.ClickException as exc:
                    exc.show(file=stderr)
                    code = exc.exit_code
                except PromoterError as exc:
                    stderr.write(f"error: {exc}\n")
                    code = int(exc.exit_code)
        return CommandResult(exit_code=code, stdout=stdout.getvalue(), stderr=stderr.getvalue())


@pytest.fixture
def promoter_runner(
    talend_sandbox: TalendSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    register_plugin: PluginRegistrar,
    hook_recorder: HookRecorder,
) -> Iterator[PromoterRunner]:
    """Run promoter commands in-process against ``talend_sandbox`` (own ledger and directory)."""
    workdir = tmp_path / "promoter-runner"
    workdir.mkdir()
    runner = PromoterRunner(talend_sandbox, workdir, monkeypatch, register_plugin, hook_recorder)
    try:
        yield runner
    finally:
        runner.close()
