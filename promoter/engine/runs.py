"""What a run is before any stage: its id, who runs it, its context, its record in the ledger,
and the settings of its lock.

The engine (:mod:`promoter.engine.protocol`) builds a run with these; ``promoter export`` too
(it runs the export stage alone, with no ledger).
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import secrets as _random
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from promoter.context import RunContext, RunOptions
from promoter.errors import ConfigurationError, RunStateError
from promoter.ledger import HOSTNAME, LeaseLost, Ledger, LockHeartbeat, LockInfo, RunRecord
from promoter.pipeline import LoadedPipeline, Secrets
from promoter.terminal import printable

log = logging.getLogger("promoter.engine")

LOCK_WAIT_ENV = "PROMOTER_LOCK_WAIT"
LOCK_LEASE_ENV = "PROMOTER_LOCK_LEASE"
DEFAULT_LOCK_WAIT = 30.0
DEFAULT_LOCK_LEASE = 120.0


LOCK_WAIT_LINE_EVERY = 5.0
"""Seconds between two "waiting for the lock" lines while another run holds the target."""


class TargetLock:
    """A run's hold on its target's lock: taken (waiting, and saying who holds it, while
    another run does), its lease renewed by a heartbeat, released at the end."""

    def __init__(self, ledger: Ledger, run: RunContext, heartbeat: LockHeartbeat) -> None:
        self.ledger = ledger
        self.run = run
        self.heartbeat = heartbeat

    @classmethod
    def take(cls, ledger: Ledger, run: RunContext, *, wait: float, lease: float) -> TargetLock:
        """Take ``run``'s target lock, waiting up to ``wait`` seconds (a line every
        :data:`LOCK_WAIT_LINE_EVERY` seconds names the holder); raises ``LockHeld``."""
        said = [-LOCK_WAIT_LINE_EVERY]  # when the last "waiting for the lock" line was logged

        def waiting(holder: LockInfo | None, left: float) -> None:
            now = time.monotonic()
            if now - said[0] < LOCK_WAIT_LINE_EVERY:
                return
            said[0] = now
            who = holder.describe() if holder is not None else "another runner (taking it now)"
            log.info(
                "waiting for the lock of %s, held by %s (%.0f s more at most)",
                run.target.key,
                printable(who),
                left,
            )

        target = run.target.key
        ledger.acquire_lock(
            target, run_id=run.run_id, owner=run.user, lease=lease, wait=wait, on_wait=waiting
        )
        return cls(ledger, run, LockHeartbeat(ledger, target, run.run_id, lease).start())

    @property
    def lost(self) -> bool:
        """Whether the heartbeat found the lease gone (a forced unlock, a take-over)."""
        return self.heartbeat.lost

    def release(self) -> None:
        """Stop the heartbeat and release the lock (only if it is still ours)."""
        self.heartbeat.stop()
        self.ledger.release_lock(self.run.target.key, run_id=self.run.run_id)


def build_context(
    loaded: LoadedPipeline,
    *,
    target: str | None,
    options: RunOptions,
    command: str,
    run_id: str | None = None,
    user: str | None = None,
) -> RunContext:
    """A run context for ``target`` (an environment name; default: the pipeline's first), not
    yet tied to a ledger (``Engine.context`` ties it; ``promoter export`` needs none)."""
    pipeline = loaded.pipeline
    try:
        target_config = pipeline.select_target(target)
    except KeyError:
        names = ", ".join(t.environment for t in pipeline.targets)
        raise RunStateError(
            f"pipeline {loaded.display} has no target {target!r}",
            hint=f"use --target with one of: {names}",
        ) from None
    return RunContext(
        run_id=run_id or new_run_id(),
        loaded=loaded,
        target_config=target_config,
        source=pipeline.source_ref(),
        target=pipeline.target_ref(target_config),
        options=options,
        secrets=Secrets(loaded.base_dir),
        user=user or current_user(),
        command=command,
    )


def new_run_id() -> str:
    """A sortable, readable run id: ``20261129-031500-a1b2c3``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{_random.token_hex(3)}"


def current_user() -> str:
    """Who runs promoter: ``PROMOTER_USER``, else the login name."""
    try:
        return os.environ.get("PROMOTER_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid-{os.getuid()}"


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C while the ledger records an outcome, so it is never half-recorded."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def lease_lost_in(error: BaseException) -> LeaseLost | None:
    """The :class:`LeaseLost` behind ``error`` (itself, or a cause: hooks wrap stage errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, LeaseLost):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def run_record_for(run: RunContext, command: str) -> RunRecord:
    """The ledger's record of a new run (status ``running``)."""
    return RunRecord(
        id=run.run_id,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        user=run.user,
        host=HOSTNAME,
        pid=os.getpid(),
        command=command,
        pipeline_name=run.pipeline.name,
        pipeline_file=str(run.pipeline_path),
        pipeline_sha256=run.loaded.sha256,
        source=run.source.key,
        target=run.target.key,
        reason=run.reason,
        dry_run=run.dry_run,
        versions={},
        variables=dict(run.options.variables),
        options={
            "target": run.target.environment,
            "plugins": list(run.loaded.plugins),
            "cli_plugins": list(run.options.plugins),
            "kind": "hotfix" if run.hotfix else run.pipeline.kind,
            **({"release": run.options.release} if run.options.release else {}),
            **({"only": dict(run.options.only)} if run.options.only else {}),
            **{k: _jsonable(v) for k, v in run.options.extra.items()},
        },
    )


def seconds_from_env(name: str, default: float) -> float:
    """A number of seconds from an environment variable; a bad value is a settings error."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise ConfigurationError(
            f"{name}={raw!r} is not a number of seconds",
            hint=f"set {name} to a number such as 30, or unset it",
        )
    return seconds


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
