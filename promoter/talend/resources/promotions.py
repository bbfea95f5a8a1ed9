"""Talend's own promotions: definitions (found or created), analyses, runs and their reports."""

from __future__ import annotations

import random
import time

from promoter.talend.errors import Conflict, TalendError, WaitTimeoutError
from promoter.talend.models import (
    PromotionAnalysisRequest,
    PromotionCreateRequest,
    PromotionDefinition,
    PromotionExecution,
    PromotionReport,
    PromotionReportStatus,
    PromotionRunRequest,
)
from promoter.talend.resources.base import (
    BUSY_PAIR_MAX_PAUSE,
    Resource,
    many,
    nothing,
    one,
    poll_failure,
)
from promoter.talend.transport import logger


class PromotionsAPI(Resource):
    """Promotion definitions, their analysis (dry run) and their runs."""

    PATH = "/orchestration/executables/promotions"
    ONE = PATH + "/{promotionId}"
    RUNS = "/processing/executions/promotions"

    def list(self) -> list[PromotionDefinition]:
        """Every promotion definition (a bare array)."""
        return self._t.call("GET", self.PATH, parse=many(PromotionDefinition))

    def get(self, promotion_id: str) -> PromotionDefinition:
        """One promotion definition."""
        return self._t.call(
            "GET", self.ONE, path_params={"promotionId": promotion_id}, parse=one(PromotionDefinition)
        )

    def find(self, source_environment_id: str, target_environment_id: str) -> PromotionDefinition | None:
        """The definition promoting from one environment to another, or ``None``."""
        for item in self.list():
            source = item.source_environment.id if item.source_environment else None
            target = item.target_environment.id if item.target_environment else None
            if (source, target) == (source_environment_id, target_environment_id):
                return item
        return None

    def create(self, request: PromotionCreateRequest) -> PromotionDefinition:
        """Create the definition for an environment pair (one per pair; 409 on a duplicate)."""
        return self._t.call(
            "POST",
            self.PATH,
            json=request.to_wire(),
            parse=one(PromotionDefinition),
            reconcile=lambda: self.find(request.source_environment_id, request.target_environment_id),
        )

    def find_or_create(
        self, source_environment_id: str, target_environment_id: str
    ) -> PromotionDefinition:
        """The definition promoting from one environment to another, created when there is none.

        Another client may create it between the look-up and the create (two promotions to one
        environment at once): Talend answers 409, which means "use the one that exists", and it
        is looked up again.
        """
        found = self.find(source_environment_id, target_environment_id)
        if found is not None:
            return found
        try:
            return self.create(
                PromotionCreateRequest(
                    source_environment_id=source_environment_id,
                    target_environment_id=target_environment_id,
                )
            )
        except Conflict:
            found = self.find(source_environment_id, target_environment_id)
            if found is None:
                raise
            logger.info("promotion %s was created by another client meanwhile; using it", found.executable)
            return found

    def delete(self, promotion_id: str) -> None:
        """Delete a promotion definition."""
        self._t.call("DELETE", self.ONE, path_params={"promotionId": promotion_id}, parse=nothing)

    def analyze(
        self, promotion_id: str, request: PromotionAnalysisRequest | None = None
    ) -> PromotionReport:
        """Run the analysis only (a dry run): what a promotion would do. Changes nothing."""
        body = (request or PromotionAnalysisRequest()).to_wire()
        return self._t.call(
            "POST",
            self.ONE,
            path_params={"promotionId": promotion_id},
            json=body,
            parse=one(PromotionReport),
            idempotent=True,  # an analysis writes nothing: safe to send again
        )

    def run(self, request: PromotionRunRequest) -> PromotionExecution:
        """Start a promotion run: the report when it finished at once (201), else its id (202).

        Talend offers no way to list promotion runs, so a run that fails ambiguously (5xx,
        dropped connection) is not sent again: :class:`~promoter.talend.errors.AmbiguousOutcomeError`
        says so, and the analysis tells what remains to promote.
        """
        return self._t.call("POST", self.RUNS, json=request.to_wire(), parse=one(PromotionExecution))

    def get_report(self, execution_id: str) -> PromotionReport:
        """The report of a promotion run (its status is ``PROMOTION_STARTED`` while it runs)."""
        return self._t.call(
            "GET",
            self.RUNS + "/{executionId}",
            path_params={"executionId": execution_id},
            parse=one(PromotionReport),
        )

    def wait_for_report(
        self, execution_id: str, *, timeout: float = 1800.0, poll_interval: float = 2.0
    ) -> PromotionReport:
        """Poll a promotion run until it has finished; its final report.

        Polls that fail transiently (429, 5xx, no answer) even after the client's retries are
        waited out until ``timeout``: they say nothing about the run.
        """
        what = f"promotion run {execution_id}"
        deadline = time.monotonic() + timeout
        last: str | None = None
        problem: str | None = None
        while True:
            pause = poll_interval
            try:
                report = self.get_report(execution_id)
            except TalendError as exc:
                pause, problem = poll_failure(what, exc, poll_interval), exc.message
            else:
                if report.status not in (None, PromotionReportStatus.PROMOTION_STARTED):
                    return report
                last, problem = report.status, None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(what, timeout, last, last_error=problem)
            time.sleep(min(pause, remaining))

    def promote(
        self, request: PromotionRunRequest, *, timeout: float = 1800.0, poll_interval: float = 2.0
    ) -> PromotionReport:
        """Run a promotion and wait for its final report.

        Talend runs one promotion per environment pair at a time and refuses another while one
        runs (409): the run is sent again — after half to one ``poll_interval`` at first, then
        less often — for up to ``timeout`` seconds; a 409 is a refusal, so nothing runs twice.
        Once accepted, the run is waited for up to ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        refusals = 0
        while True:
            try:
                execution = self.run(request)
                break
            except Conflict as busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                # Half to one poll interval at first, doubling up to BUSY_PAIR_MAX_PAUSE: quick
                # turns after a short run, few requests while a long one (minutes) goes on.
                ceiling = min(poll_interval * 2**refusals, BUSY_PAIR_MAX_PAUSE)
                refusals += 1
                pause = min(random.uniform(ceiling / 2, ceiling), remaining)
                logger.info(
                    "promotion %s is busy (%s); sending the run again in %.1fs",
                    request.executable,
                    busy.server_message or "409",
                    pause,
                )
                time.sleep(pause)
        if execution.execution_report is not None and execution.execution_report.status not in (
            None,
            PromotionReportStatus.PROMOTION_STARTED,
        ):
            return execution.execution_report
        if not execution.execution_id:
            raise TalendError(
                "Talend Cloud accepted the promotion run but gave no execution id",
                hint="check the run in Talend Management Console",
            )
        return self.wait_for_report(execution.execution_id, timeout=timeout, poll_interval=poll_interval)
