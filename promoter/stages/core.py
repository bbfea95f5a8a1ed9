"""The essential built-in plugin: runs each stage for ``promoter_stage``.

It cannot be disabled. Wrap ``promoter_stage`` (``wrapper=True``) to see every stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promoter.hookspecs import hookimpl

if TYPE_CHECKING:
    from promoter.engine import StageCall
    from promoter.run import RunContext


@hookimpl(trylast=True)
def promoter_stage(run: RunContext, stage: StageCall) -> Any:
    """Do the stage: call its own hook (``promoter_export``, ``promoter_apply``...)."""
    return stage.execute()
