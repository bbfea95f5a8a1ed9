"""A test plugin (``promoter promote -p kill_plugin.py``) that SIGKILLs its own process.

With ``PROMOTER_TEST_KILL_AFTER=k`` set, the process dies — no clean-up, no ``finally`` — right
after the k-th ``done`` progress event of the apply stage (the ledger has recorded it by then).
Without the variable it does nothing, so ``promoter resume`` (which loads a run's ``-p`` plugins
again) runs normally.
"""

from __future__ import annotations

import os
import signal
import threading

from promoter import hookimpl
from promoter.run import ObjectProgress, RunContext

_lock = threading.Lock()
_done = 0


@hookimpl
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """Count apply's finished objects; die at the configured one."""
    global _done
    limit = os.environ.get("PROMOTER_TEST_KILL_AFTER")
    if not limit or event.stage != "apply" or event.status != "done":
        return
    with _lock:
        _done += 1
        if _done >= int(limit):
            os.kill(os.getpid(), signal.SIGKILL)
