"""What the target runs after a run, in words every output shares.

A run's outcome says how the run ended; a person on call asks what the target runs *now*. The
answer comes from the same :class:`~promoter.RunOutcome` as everything else — its status, its
plan's exact versions (:attr:`Plan.versions <promoter.Plan.versions>`, never ``latest``) and the
field changes that put those versions in place — so the console, ``run.json``, ``summary.md`` and
``report.html`` tell the same story:

- promoted: ``prod/Finance runs finance_ledger_sync 1.1.0 (was 1.0.0)``;
- rolled back: ``prod/Finance still runs finance_ledger_sync 1.0.0 (1.1.0 was removed by the
  rollback)`` — the restored objects are what the target held *before*, never the promoted ones;
- blocked, failed or planned: nothing was written, the target still runs what it ran;
- rollback incomplete or interrupted: the target may run either; what to do next.

Platform-neutral: the previous version of an artifact is the ``before`` of a field change whose
``after`` is the promoted version (a task's ``artifact.version``, for Talend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promoter import Change, ChangeAction, Plan, RunOutcome

STATES = ("running", "unchanged", "not-applied", "rolled-back", "uncertain")
"""What became of a promoted version: the target ``running`` it (``unchanged``: it ran it
already), ``not-applied`` (nothing written), ``rolled-back`` (written, then undone) or
``uncertain`` (a rollback incomplete, a run interrupted)."""

_NOT_WRITTEN = {
    "planned": "planned, not applied",
    "blocked": "not applied: the run was blocked",
    "failed": "not applied: the run failed before writing",
}


@dataclass
class ArtifactState:
    """One artifact after the run: the version promoted, the one(s) before, what it runs now."""

    name: str
    promoted: str
    previous: list[str] = field(default_factory=list)
    """The versions the target ran before the run (several when tasks ran different ones)."""
    state: str = "uncertain"
    created: bool = False
    """Whether the run created the promoted version on the target (a rollback then removes it)."""

    @property
    def now(self) -> list[str]:
        """The versions the target runs now (empty when it is not known, or runs none)."""
        if self.state in ("running", "unchanged"):
            return [self.promoted]
        if self.state in ("not-applied", "rolled-back"):
            return list(self.previous)
        return []

    def sentence(self, target: str, status: str) -> str:
        """This artifact's state in words, for a person: what the target runs, then in brackets
        what became of the promoted version."""
        before = " or ".join(self.previous)
        if self.state == "unchanged":
            return f"{target} runs {self.name} {self.promoted} (unchanged)"
        if self.state == "running":
            was = f"was {before}" if self.previous else "new"
            return f"{target} runs {self.name} {self.promoted} ({was})"
        if self.state in ("not-applied", "rolled-back"):
            if self.state == "rolled-back":
                why = "removed by the rollback" if self.created else "undone by the rollback"
            else:
                why = _NOT_WRITTEN.get(status, "not applied")
            if self.previous:
                return f"{target} still runs {self.name} {before} ({self.promoted} was {why})"
            return f"{target} does not run {self.name} ({self.promoted} was {why})"
        either = f"{self.promoted} or {before}" if self.previous else self.promoted
        why = "the run was interrupted" if status == "interrupted" else "the rollback is incomplete"
        return f"{target} may run {self.name} {either} ({why})"

    def as_dict(self) -> dict[str, Any]:
        """The artifact's entry in ``run.json``'s ``target_state.artifacts``."""
        return {
            "name": self.name,
            "promoted": self.promoted,
            "previous": list(self.previous),
            "now": self.now,
            "state": self.state,
        }


class _VersionChanges:
    """What the plan's pending changes do to each version, read in one pass over the plan (a
    plan of 1,000 tasks over 200 artifacts would otherwise be read 200 times)."""

    def __init__(self, plan: Plan) -> None:
        self.created: set[str] = set()
        self.previous: dict[str, list[str]] = {}  # version -> the versions it replaces
        for change in plan.pending:
            if change.action is ChangeAction.CREATE:
                version = (change.after or {}).get("version")
                if isinstance(version, str):
                    self.created.add(version)
                parts = change.key.split("@")  # "name@version": the key ends with "@version"
                self.created.update("@".join(parts[i:]) for i in range(1, len(parts)))
            for f in change.fields:
                if isinstance(f.after, str) and f.before != f.after:
                    replaced = self.previous.setdefault(f.after, [])
                    if isinstance(f.before, str) and f.before not in replaced:
                        replaced.append(f.before)

    def of(self, version: str) -> tuple[list[str], bool, bool]:
        """``(versions before, whether the plan changes anything to put version in place,
        whether it creates the version)``."""
        created = version in self.created
        return list(self.previous.get(version, [])), created or version in self.previous, created


def artifact_states(outcome: RunOutcome) -> list[ArtifactState]:
    """Each artifact of the run's plan, with what became of its promoted version."""
    plan = outcome.plan
    if plan is None:
        return []
    status = outcome.status.value
    changes = _VersionChanges(plan)
    states: list[ArtifactState] = []
    for name, version in sorted(plan.versions.items()):
        previous, changed, created = changes.of(version)
        if not changed:
            state = "unchanged"
        elif status in ("promoted", "nothing-to-do"):
            state = "running"
        elif status in _NOT_WRITTEN:
            state = "not-applied"
        elif status == "rolled-back" and outcome.rollback is not None:
            state = "rolled-back" if outcome.rollback.complete else "uncertain"
        elif status == "rolled-back":  # no rollback result: nothing had been written yet
            state = "not-applied"
        else:
            state = "uncertain"
        states.append(ArtifactState(name, version, previous, state, created))
    return states


def state_sentences(outcome: RunOutcome, target: str) -> list[str]:
    """What ``target`` runs after the run, one sentence per artifact (or one for the whole target
    when the run has no plan), then what to do next when that is uncertain."""
    states = artifact_states(outcome)
    status, run_id = outcome.status.value, outcome.run_id
    if states:
        sentences = [s.sentence(target, status) for s in states]
    elif status == "rolled-back" and outcome.rollback is not None:
        sentences = [
            f"{target} is as it was before run {run_id} applied "
            f"({len(outcome.rollback.restored)} object(s) restored to their state then)"
        ]
    elif status in ("rollback-incomplete", "interrupted"):
        sentences = [f"{target} may be partly promoted"]
    else:
        sentences = [f"nothing was written to {target}"]
    if status == "interrupted":
        sentences.append(f"next: `promoter resume {run_id}` or `promoter rollback {run_id}`")
    elif status == "rollback-incomplete":
        sentences.append(
            f"next: inspect it (`promoter show {run_id}`), then `promoter rollback {run_id}`"
        )
    return sentences


def target_state(outcome: RunOutcome, target: str) -> dict[str, Any]:
    """``run.json``'s ``target_state``: a summary in words and each artifact's state."""
    return {
        "summary": "; ".join(state_sentences(outcome, target)),
        "artifacts": [s.as_dict() for s in artifact_states(outcome)],
    }


def rollback_effects(outcome: RunOutcome) -> list[dict[str, str]]:
    """What the rollback did to each object it restored, in words that cannot be misread: an
    object the run created was ``removed``, one it deleted ``re-created``, any other
    ``restored`` to its state before the run."""
    if outcome.rollback is None:
        return []
    words = {ChangeAction.CREATE: "removed", ChangeAction.DELETE: "re-created"}
    effects = {(c.kind, c.key): words[c.action] for c in _changes(outcome) if c.action in words}
    return [
        {"object": str(ref), "effect": effects.get((ref.kind, ref.key), "restored")}
        for ref in outcome.rollback.restored
    ]


def _changes(outcome: RunOutcome) -> list[Change]:
    return list(outcome.plan.changes) if outcome.plan is not None else []


__all__ = [
    "STATES",
    "ArtifactState",
    "artifact_states",
    "rollback_effects",
    "state_sentences",
    "target_state",
]
