"""A test plugin (``promoter promote -p kill_plugin.py``) that SIGKILLs its own process.

The process dies — no clean-up, no ``finally`` — right after a progress event the ledger has
recorded (the engine records an event before it calls the ``promoter_progress`` hooks):

- ``PROMOTER_TEST_KILL_IN=apply`` (the default): after the k-th ``done`` object of apply;
- ``PROMOTER_TEST_KILL_IN=verify``: after the k-th smoke execution whose id verify recorded
  (a ``started`` event with an ``executionId``), so the executions are running when it dies;
- ``PROMOTER_TEST_KILL_IN=verify-start``: at the k-th ``started`` event of verify that has no
  execution id yet — before the task's start request is sent.

k is ``PROMOTER_TEST_KILL_AFTER``; without it the plugin does nothing, so ``promoter resume``
(which loads a run's ``-p`` plugins again) runs normally. ``PROMOTER_TEST_KILL_DELAY=SECONDS``
kills that much later instead, from a timer, while the run carries on (smoke runs keep running).
"""

from __future__ import annotations

import os
import signal
import threading

from promoter import hookimpl
from promoter.context import RunContext
from promoter.model import ObjectProgress

_lock = threading.Lock()
_seen = 0


def _counts(event: ObjectProgress, where: str) -> bool:
    # A promoter from before ObjectProgress.data recorded one `started` per smoke task, before
    # its start: counting those lets the same trial show what such a promoter did.
    data = getattr(event, "data", None)
    if where == "apply":
        return event.stage == "apply" and event.status == "done"
    if where == "verify":
        started = event.stage == "verify" and event.status == "started"
        return started and (data is None or "executionId" in data)
    if where == "verify-start":
        return event.stage == "verify" and event.status == "started" and not data
    raise ValueError(f"PROMOTER_TEST_KILL_IN={where!r}: apply, verify or verify-start")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@hookimpl
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """Count the chosen events; die at the configured one."""
    global _seen
    limit = os.environ.get("PROMOTER_TEST_KILL_AFTER")
    if not limit or not _counts(event, os.environ.get("PROMOTER_TEST_KILL_IN", "apply")):
        return
    with _lock:
        _seen += 1
        if _seen != int(limit):
            return
    delay = float(os.environ.get("PROMOTER_TEST_KILL_DELAY") or 0)
    if delay > 0:
        threading.Timer(delay, _die).start()
    else:
        _die()
