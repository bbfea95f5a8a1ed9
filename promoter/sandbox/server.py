"""Running the sandbox: in-process on a free port (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from promoter.sandbox.app import (
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    DEV_TOKEN,
    SandboxSettings,
    SandboxState,
    create_app,
)
from promoter.sandbox.faults import FaultConfig


class Sandbox:
    """A running sandbox server on 127.0.0.1, with a Python handle on its state.

    Use :meth:`start` as a context manager::

        with Sandbox.start(seed="demo") as sandbox:
            httpx.get(sandbox.base_url + "/orchestration/environments",
                      headers={"Authorization": f"Bearer {sandbox.token}"})
    """

    def __init__(self, state: SandboxState, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.state = state
        self.host = host
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and without it every answer (headers and body written separately) waits ~40 ms for
        # the client's delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(state),
            http="h11",  # dropped connections need the h11 protocol's transport
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def start(
        cls,
        *,
        seed: str | None = "demo",
        state: str | Path | None = None,
        settings: SandboxSettings | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **seed_options: Any,
    ) -> Sandbox:
        """Start a sandbox in a background thread and wait until it answers.

        ``state`` is a SQLite file (kept across restarts) or None for an in-memory state; ``seed``
        names an estate to create when the state is new (``demo``, ``large``, or None).
        """
        from promoter.sandbox.seed import seed_estate

        sandbox_state = SandboxState(state, settings)
        seed_estate(sandbox_state.estate, seed, **seed_options)
        if faults is not None:
            sandbox_state.faults.configure(faults)
        sandbox = cls(sandbox_state, host, port)
        sandbox._run_in_thread()
        return sandbox

    def _run_in_thread(self) -> None:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="promoter-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (Ctrl-C)."""
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        """Stop the server and close the state."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        self.state.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ handles

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """A valid personal access token (the documented development token)."""
        return next(iter(sorted(self.state.settings.tokens))) if self.state.settings.tokens else DEV_TOKEN

    @property
    def client_id(self) -> str:
        """An OAuth client id the sandbox accepts."""
        return next(iter(self.state.settings.clients), DEV_CLIENT_ID)

    @property
    def client_secret(self) -> str:
        """The secret of :attr:`client_id`."""
        return self.state.settings.clients.get(self.client_id, DEV_CLIENT_SECRET)

    def http(self, **kwargs: Any) -> httpx.Client:
        """A plain httpx client for this sandbox, authenticated with :attr:`token`."""
        headers = {"Authorization": f"Bearer {self.token}", "talend-version": "2021-03"}
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    def set_faults(self, faults: FaultConfig | None = None, **fields: Any) -> None:
        """Replace the faults in force (no argument clears them)."""
        self.state.faults.configure(faults or FaultConfig(**fields))

    def set_token_ttl(self, seconds: float) -> None:
        """Lifetime of the OAuth tokens issued from now on."""
        self.state.apply_settings({"token_ttl": seconds})

    def set_rate_limits(self, **budgets: int | None) -> None:
        """Per-minute budgets per family (``orchestration=1800``...); no argument disables them."""
        self.state.apply_settings({"budgets": {k: v for k, v in budgets.items() if v}})

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log: ``{seq, method, path, query, family, status, fault, ...}`` per request."""
        return self.state.requests.entries(since)

    def clear_requests(self) -> None:
        """Forget the request log."""
        self.state.requests.clear()
