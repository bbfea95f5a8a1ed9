"""What a promotion decides for each object: its status, what it became in the target, and the
overall status and summary these add up to."""

from __future__ import annotations

from dataclasses import dataclass

from promoter.talend import models as m

#: What happened (or would happen) to one object in the target.
CREATED = "CREATED"
REPLACED = "REPLACED"
REUSED = "REUSED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
#: The statuses of an object that is not in the target afterwards.
NOT_PROMOTED = (FAILED, SKIPPED)

Message = tuple[str, str]  # (level, info)


@dataclass
class Target:
    """What became (or would become) of one source object in the target."""

    status: str
    target_id: str | None  # None: not promoted, or not created yet (analysis)


@dataclass
class Outcome:
    """The per-workspace results of a promotion and the statuses of every object in them."""

    workspaces: list[m.WorkspacePromotionResult]
    statuses: list[str]

    def status(self) -> m.PromotionReportStatus:
        """PROMOTED; PROMOTION_WARNING when something was skipped or failed; PROMOTION_FAILED when
        nothing could be promoted."""
        bad = [s for s in self.statuses if s in NOT_PROMOTED]
        if not bad:
            return m.PromotionReportStatus.PROMOTED
        if len(bad) == len(self.statuses):
            return m.PromotionReportStatus.PROMOTION_FAILED
        return m.PromotionReportStatus.PROMOTION_WARNING

    def summary(self, verb: str) -> str:
        """``"3 objects would be: 2 created, 1 reused"``."""
        counts = {s: self.statuses.count(s) for s in (CREATED, REPLACED, REUSED, SKIPPED, FAILED)}
        parts = [f"{n} {s.lower()}" for s, n in counts.items() if n]
        if not parts:
            return "Nothing to promote"
        return f"{len(self.statuses)} objects {verb}: {', '.join(parts)}"
