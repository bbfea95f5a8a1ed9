"""The essential built-in plugin: runs each stage for ``promoter_stage``.

It cannot be disabled. Wrap ``promoter_stage`` (``wrapper=True``) to see every stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promoter import hookimpl

if TYPE_CHECKING:
    from promoter.context import RunContext
    from promoter.model import StageCall


@hookimpl(trylast=True)
def promoter_stage(run: RunContext, stage: StageCall) -> Any:
    """Do the stage: call its own hook (``promoter_export``, ``promoter_apply``...)."""
    return stage.execute()
