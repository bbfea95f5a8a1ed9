"""Promotion runs: applied at once in one store transaction, reported as running until their
simulated duration has passed; a failed run changes nothing and is recorded all the same."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from promoter.sandbox.errors import ApiError, not_found
from promoter.sandbox.estate.rows import iso, public
from promoter.sandbox.promotions.definitions import EXECUTION, Definitions
from promoter.sandbox.promotions.scope import clean_advanced, scope_of
from promoter.sandbox.promotions.walk import Promotion
from promoter.sandbox.store import Row
from promoter.talend import models as m


class Runs(Definitions):
    """``run`` a promotion and follow its ``status``; ``run_seconds`` says how long a run is
    reported as running."""

    run_seconds: Callable[[], float]

    def run(
        self,
        body: m.PromotionRunRequest,
        *,
        user_id: str = "sandbox",
        user_type: str = "HUMAN",
    ) -> tuple[int, m.PromotionExecution]:
        """Run a promotion: ``(201, execution with its report)`` when ``run_seconds()`` is 0,
        otherwise ``(202, execution id only)`` and the report says ``PROMOTION_STARTED`` until
        that time has passed (poll :meth:`status`).

        404 for an unknown definition or advanced ``artifactId``; 400 for an advanced scope outside
        the source environment; 409 while a run of the same environment pair is running.
        """
        started = self.clock()
        seconds = self.run_seconds()
        duration = timedelta(seconds=seconds if seconds > 0 else 0)
        execution_id = str(uuid.uuid4())
        advanced = clean_advanced(body.advanced)

        def report(
            status: str, message: str, workspaces: list[m.WorkspacePromotionResult] | None
        ) -> m.PromotionReport:
            return m.PromotionReport(
                execution_id=execution_id,
                trigger_timestamp=started,
                start_timestamp=started,
                finish_timestamp=started + duration,
                user_id=user_id,
                user_type=user_type,
                promotion_id=body.executable,
                keep_target_resources=body.keep_target_resources,
                keep_target_run_profiles=body.keep_target_run_profiles,
                advanced=advanced,
                status=status,
                status_message=message,
                workspaces=workspaces,
                context=body.context,
            )

        try:
            with self.store.transaction():
                definition = self._definition(body.executable)
                self._check_idle(definition)
                scope = scope_of(self.estate, definition["_source"], advanced)
                try:
                    outcome = Promotion(
                        self.estate, definition["_target"], scope,
                        apply=True, keep_target_resources=bool(body.keep_target_resources),
                    ).walk()
                except (ApiError, ValueError) as exc:
                    raise _RunFailed(definition, exc) from exc
                final = report(outcome.status(), outcome.summary("were"), outcome.workspaces)
                self._save(final, definition, started + duration)
        except _RunFailed as failure:
            # The transaction rolled back every change; the failed run itself is still recorded.
            message = failure.cause.message if isinstance(failure.cause, ApiError) else str(failure.cause)
            final = report(
                m.PromotionReportStatus.PROMOTION_FAILED,
                f"Promotion failed, nothing was changed: {message}",
                None,
            )
            with self.store.transaction():
                self._save(final, failure.definition, started + duration)
        if duration:
            return 202, m.PromotionExecution(execution_id=execution_id)
        return 201, m.PromotionExecution(execution_id=execution_id, execution_report=final)

    def status(self, execution_id: str) -> m.PromotionReport:
        """The report of a promotion run (``GET /processing/executions/promotions/{id}``); 404 when
        unknown. Until the run's time has passed it is ``PROMOTION_STARTED``, without results."""
        body = self.store.get(EXECUTION, execution_id)
        if body is None:
            raise not_found("Promotion execution", execution_id)
        wire = public(body)
        if self._running(body):
            wire.update(
                status=m.PromotionReportStatus.PROMOTION_STARTED.value,
                statusMessage="Promotion in progress",
            )
            wire.pop("finishTimestamp", None)
            wire = _without_promotion_reports(wire)
        return m.PromotionReport.model_validate(wire)

    def _save(self, report: m.PromotionReport, definition: Row, finish_at: datetime) -> None:
        body = {
            **report.to_wire(),
            "_source": definition["_source"],
            "_target": definition["_target"],
            "_finishAt": iso(finish_at),
        }
        self.store.put(
            EXECUTION, report.execution_id, body,
            environment_id=definition["_source"], parent_id=definition["executable"],
        )


def _without_promotion_reports(value: Any) -> Any:
    """A report body without its ``promotionReport`` entries (what a running promotion shows)."""
    if isinstance(value, dict):
        return {k: _without_promotion_reports(v) for k, v in value.items() if k != "promotionReport"}
    if isinstance(value, list):
        return [_without_promotion_reports(v) for v in value]
    return value


class _RunFailed(Exception):
    """A run hit an error while applying: its transaction is rolled back, the run is recorded."""

    def __init__(self, definition: Row, cause: Exception) -> None:
        super().__init__(str(cause))
        self.definition = definition
        self.cause = cause
