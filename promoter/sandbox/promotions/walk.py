"""The walk over a scope, shared by the analysis and a run: each covered source workspace in
store order, with the reports of every object and the statuses they add up to."""

from __future__ import annotations

from collections.abc import Iterable

from promoter.sandbox.estate import Estate
from promoter.sandbox.promotions.outcome import Message, Outcome
from promoter.sandbox.promotions.scope import Scope
from promoter.sandbox.promotions.workspace import WorkspacePromotion
from promoter.talend import models as m


class Promotion:
    """One walk over a scope: decide for each source object what happens in the target (the
    analysis) and, when ``apply``, do it. Decisions are made before writing so that a run does
    exactly what its analysis says."""

    def __init__(
        self,
        estate: Estate,
        target_env_id: str,
        scope: Scope,
        *,
        apply: bool,
        keep_target_resources: bool,
    ) -> None:
        self.estate = estate
        self.store = estate.store
        self.target_env_id = target_env_id
        self.scope = scope
        self.apply = apply
        self.keep_target_resources = keep_target_resources
        self.statuses: list[str] = []

    def walk(self) -> Outcome:
        """Promote (or analyse) each covered source workspace, in store order."""
        results = []
        for ws in self.store.find("workspace"):
            if ws["id"] in self.scope.workspaces:
                workspace = WorkspacePromotion(self, ws, self.scope.workspaces[ws["id"]])
                results.append(workspace.promote())
        return Outcome(results, self.statuses)

    def reports(
        self, status: str, messages: Iterable[Message], *, counted: bool = True
    ) -> dict[str, m.Report]:
        """The ``analyzeReport`` (and, in a run, the same ``promotionReport``) of one object;
        ``counted`` objects make the overall status (an artifact's versions are not)."""
        if counted:
            self.statuses.append(status)
        report = m.Report(
            status=status,
            messages=[m.ReportMessage(level=level, info=info) for level, info in messages] or None,
        )
        return {"analyze_report": report, "promotion_report": report} if self.apply else {
            "analyze_report": report
        }
