"""A test plugin (``promoter promote -p hold_plugin.py``) that holds a run in the middle of apply.

With ``PROMOTER_TEST_HOLD_FILE=PATH`` set, at the first task of apply (its ``started`` event, which
the ledger has recorded, before any task is written to Talend) the run writes ``PATH.held`` and
waits while ``PATH`` exists. Its lock stays held and renewed meanwhile: a live holder, for
``promoter unlock`` to refuse or force. Without the variable it does nothing.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from promoter import hookimpl
from promoter.context import RunContext
from promoter.model import ObjectProgress

_lock = threading.Lock()
_held = False


@hookimpl
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """Hold once, at the first task apply is about to write."""
    global _held
    path = os.environ.get("PROMOTER_TEST_HOLD_FILE")
    if not path or event.stage != "apply" or event.kind != "task" or event.status != "started":
        return
    with _lock:
        if _held:
            return
        _held = True
    hold = Path(path)
    Path(f"{path}.held").write_text(run.run_id, encoding="utf-8")
    while hold.exists():
        time.sleep(0.02)
