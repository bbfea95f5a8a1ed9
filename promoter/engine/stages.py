"""Running and recording one stage: through the ``promoter_stage`` hook (so wrappers see every
stage), with the before/after/error events, and into the ledger (started, finished or error,
with the plugin, duration and a summary of the result); and the run's documents and progress.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from promoter.context import RunContext
from promoter.engine.runs import lease_lost_in
from promoter.errors import PromoterError, StageError
from promoter.hooks.calls import PromoterHooks
from promoter.ledger import LeaseLost, Ledger
from promoter.model import (
    ObjectProgress,
    Payload,
    RunOutcome,
    Stage,
    StageCall,
    StageOutcome,
    StageStatus,
)

T = TypeVar("T")


_SEVERITY = (StageStatus.OK, StageStatus.BLOCKED, StageStatus.FAILED)


def judge(result: Any) -> StageStatus:
    """A stage's status from its result: the worst :meth:`~promoter.model.Payload.verdict` of
    it (or of its items, for collecting stages), so that a refusing gate makes the gate stage
    ``blocked`` and a failed check the verify stage ``failed`` in every output."""
    items = result if isinstance(result, list) else [result]
    verdicts = [item.verdict() for item in items if isinstance(item, Payload)]
    return max(verdicts, key=_SEVERITY.index, default=StageStatus.OK)


def summarize(result: Any) -> list[str]:
    """One-line messages about a stage's result, for the stage outcome in the ledger."""
    if isinstance(result, Payload):
        return [result.summary()]
    if isinstance(result, list):
        return [item.summary() for item in result if isinstance(item, Payload)]
    return []


class StageRecorder:
    """Runs the stages of one run at a time and records them; keeps their outcomes in order."""

    def __init__(self, hooks: PromoterHooks, ledger: Ledger) -> None:
        self.hooks = hooks
        self.ledger = ledger
        self.outcomes: list[StageOutcome] = []
        """The outcome of each stage run (or skipped) so far, in order."""

    # --- one stage --------------------------------------------------------------------------

    def run(self, run: RunContext, stage: Stage[Any], fn: Callable[[], T]) -> T:
        """Run ``fn`` as ``stage`` of ``run``, through ``promoter_stage``, and record it."""
        name = stage.name
        implementers = self.hooks.implementers(stage.hook)
        plugin = (
            implementers[0]
            if self.hooks.is_first_result(stage) and implementers
            else ", ".join(implementers) or None
        )
        started = StageOutcome(stage=name, status=StageStatus.OK, plugin=plugin)
        self.ledger.add_stage_event(run.run_id, "started", started)
        clock = time.monotonic()

        def record(status: StageStatus, messages: list[str], who: str | None) -> StageOutcome:
            outcome = StageOutcome(
                stage=name,
                status=status,
                duration=round(time.monotonic() - clock, 4),
                plugin=who,
                messages=[run.secrets.redact(m) for m in messages],
                started_at=started.started_at,
            )
            self.outcomes.append(outcome)
            self.ledger.add_stage_event(
                run.run_id, "error" if status is StageStatus.FAILED else "finished", outcome
            )
            return outcome

        try:
            self.hooks.before_stage(run=run, stage=name)
            result: T = self.hooks.stage(run=run, call=StageCall(stage=stage, execute=fn))
        except PromoterError as error:
            lost = lease_lost_in(error)
            if lost is not None:
                # The run lost its lock: not the stage's failure (no rollback, no listener), and
                # nothing more can be recorded.
                if lost is error:
                    raise
                # A copy: the original was raised (and is referenced) in a stage's own thread.
                raise LeaseLost(lost.message, hint=lost.hint) from None
            if isinstance(error, StageError):
                outcome = record(StageStatus.FAILED, [str(error)], error.plugin or plugin)
                self._notify_failure(run, name, error, outcome)
                raise
            # A stage raised one of promoter's own errors (e.g. an unresolvable secret).
            stage_error = StageError(name, plugin, str(error))
            outcome = record(StageStatus.FAILED, [str(stage_error)], plugin)
            self._notify_failure(run, name, stage_error, outcome)
            raise stage_error from error
        except KeyboardInterrupt:
            record(StageStatus.INTERRUPTED, ["interrupted"], plugin)
            raise
        outcome = record(judge(result), summarize(result), plugin)
        self.hooks.after_stage(run=run, stage=name, outcome=outcome, result=result)
        return result

    def skipped(self, run: RunContext, stage: Stage[Any], message: str) -> None:
        """Record a stage the run did not need (e.g. plan, when applying a reviewed plan)."""
        outcome = StageOutcome(stage=stage.name, status=StageStatus.SKIPPED, messages=[message])
        self.outcomes.append(outcome)
        self.ledger.add_stage_event(run.run_id, "finished", outcome)
        self.hooks.after_stage(run=run, stage=stage.name, outcome=outcome)

    def _notify_failure(
        self, run: RunContext, name: str, error: StageError, outcome: StageOutcome
    ) -> None:
        # Listeners must not mask the stage's own failure: their errors are dropped here.
        with contextlib.suppress(Exception):
            self.hooks.on_stage_error(run=run, stage=name, error=error)
        with contextlib.suppress(Exception):
            self.hooks.after_stage(run=run, stage=name, outcome=outcome)

    # --- ledger helpers ---------------------------------------------------------------------

    def progress(self, run: RunContext, event: ObjectProgress) -> None:
        """Where ``run.progress`` goes: the ledger first (fenced), then ``promoter_progress``."""
        try:
            self.ledger.add_progress(run.run_id, event)
        except LeaseLost as lost:
            run._refuse_progress(lost)  # no worker of the stage reports (or goes on) after this
            raise
        self.hooks.progress(run=run, event=event)

    def save(self, run: RunContext, kind: str, model: BaseModel) -> None:
        """Store a stage's result as the run's document ``kind`` (secret values redacted)."""
        self.ledger.save_document(run.run_id, kind, run.secrets.redact(model.model_dump_json()))

    def save_outcome(self, run: RunContext, outcome: RunOutcome) -> None:
        """Store the run's outcome (without its plan, which is a document of its own)."""
        # The plan is its own document already: the outcome refers to it, not copies it.
        body = outcome.model_dump_json(exclude={"plan"})
        self.ledger.save_document(run.run_id, "outcome", run.secrets.redact(body))

    def save_list(self, run: RunContext, kind: str, models: list[Any]) -> None:
        """Store a collecting stage's results (gates, checks) as one document."""
        body = json.dumps([m.model_dump(mode="json") for m in models])
        self.ledger.save_document(run.run_id, kind, run.secrets.redact(body))

    def load(self, run: RunContext, kind: str, model: type[T]) -> T | None:
        """The run's latest document ``kind`` as ``model``, or ``None``."""
        body = self.ledger.document(run.run_id, kind)
        if body is None:
            return None
        assert issubclass(model, BaseModel)
        return model.model_validate_json(body)
