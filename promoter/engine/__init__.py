"""The engine: the promotion protocol, and what it needs to run and record a run.

- :mod:`promoter.engine.protocol` — :class:`Engine`: promote, resume and roll back; the stages in
  order and what ends a run (the protocol only);
- :mod:`promoter.engine.stages` — running one stage through the hooks and recording it;
- :mod:`promoter.engine.runs` — a run's id, user, context and ledger record; its target lock;
- :mod:`promoter.engine.releases` — releases made from what export read, found by digest, tied
  to runs; what a run reads of that history (``run.history``, ``run.observer``);
- :mod:`promoter.engine.status` — ``promoter status``: what each lifecycle phase runs, drift,
  health, and what may come next.
"""

from __future__ import annotations

from promoter.engine.protocol import Engine, refuse_if_overtaken
from promoter.engine.releases import MadeRelease, create_release, make_release
from promoter.engine.runs import build_context, current_user, deferred_interrupts, new_run_id
from promoter.engine.stages import StageRecorder, summarize

__all__ = [
    "Engine",
    "MadeRelease",
    "StageRecorder",
    "build_context",
    "create_release",
    "current_user",
    "deferred_interrupts",
    "make_release",
    "new_run_id",
    "refuse_if_overtaken",
    "summarize",
]
