"""The engine: the promotion protocol, and what it needs to run and record a run.

- :mod:`promoter.engine.protocol` — :class:`Engine`: promote, resume and roll back; the stages in
  order and what ends a run (the protocol only);
- :mod:`promoter.engine.stages` — running one stage through the hooks and recording it;
- :mod:`promoter.engine.runs` — a run's id, user, context and ledger record; lock settings.
"""

from __future__ import annotations

from promoter.engine.protocol import Engine, refuse_if_overtaken
from promoter.engine.runs import build_context, current_user, deferred_interrupts, new_run_id
from promoter.engine.stages import StageRecorder, summarize

__all__ = [
    "Engine",
    "StageRecorder",
    "build_context",
    "current_user",
    "deferred_interrupts",
    "new_run_id",
    "refuse_if_overtaken",
    "summarize",
]
