"""The analysis of a promotion (its dry run): the report of what a run would do, written nowhere."""

from __future__ import annotations

import uuid

from promoter.sandbox.errors import bad_request, not_found
from promoter.sandbox.promotions.definitions import Definitions
from promoter.sandbox.promotions.scope import SCOPES, clean_advanced, scope_of
from promoter.sandbox.promotions.walk import Promotion
from promoter.sandbox.store import Store
from promoter.talend import models as m


class Analysis(Definitions):
    """``analyse``: a promotion's ``analyzeReport``, status ``ANALIZED``."""

    def analyse(
        self,
        promotion_id: str,
        body: m.PromotionAnalysisRequest,
        *,
        user_id: str = "sandbox",
        user_type: str = "HUMAN",
    ) -> m.PromotionReport:
        """The dry run: what a run would do to each object (``analyzeReport``), status ``ANALIZED``.

        Nothing is written, not even an execution. ``promotionAdvancedInfo`` narrows the analysis
        like ``advanced`` narrows a run (by ``id``, or by ``name`` in ``workspaceId``).
        """
        started = self.clock()
        with self.store.transaction():
            definition = self._definition(promotion_id)
            advanced = _advanced_from_info(self.store, body.promotion_advanced_info, definition["_source"])
            scope = scope_of(self.estate, definition["_source"], advanced)
            outcome = Promotion(
                self.estate, definition["_target"], scope,
                apply=False, keep_target_resources=bool(body.keep_target_resources),
            ).walk()
        return m.PromotionReport(
            execution_id=str(uuid.uuid4()),
            trigger_timestamp=started,
            start_timestamp=started,
            finish_timestamp=self.clock(),
            user_id=user_id,
            user_type=user_type,
            promotion_id=promotion_id,
            keep_target_resources=body.keep_target_resources,
            keep_target_run_profiles=body.keep_target_run_profiles,
            advanced=advanced,
            status=m.PromotionReportStatus.ANALIZED,
            status_message=outcome.summary("would be"),
            workspaces=outcome.workspaces,
            context=body.context,
        )


def _advanced_from_info(
    store: Store, info: m.PromotionAdvancedInfo | None, source_env_id: str
) -> m.AdvancedPromotionSpec | None:
    """The analysis names its scope as ``{id, name, workspaceId, type}``; a run as
    ``{artifactId, artifactType}``."""
    if info is None or (info.id is None and info.type is None and info.name is None):
        return None
    artifact_id = info.id
    scope = (info.type or "").upper()
    if artifact_id is None and info.name is not None and scope in SCOPES:
        kind = {"WORKSPACE": "workspace", "PLAN": "plan", "FLOW": "task", "ACTION": "artifact"}[scope]
        if kind == "workspace":
            rows = store.find(kind, name=info.name, environment_id=source_env_id)
        elif info.workspace_id is not None:
            rows = store.find(kind, name=info.name, workspace_id=info.workspace_id)
        else:
            raise bad_request(f"promotionAdvancedInfo names {scope} '{info.name}' without a workspaceId")
        if not rows:
            raise not_found(scope.capitalize(), info.name)
        artifact_id = rows[0]["id"]
    return clean_advanced(m.AdvancedPromotionSpec(artifact_id=artifact_id, artifact_type=info.type))
