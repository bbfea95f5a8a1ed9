"""What the dashboard's pages are made from: the ledger (runs, releases, their documents) and
``promoter status`` of each pipeline — what each lifecycle phase runs, whether the target still
holds it (drift, read from the platform), how its tasks ran since, who holds its lock, and what
may be promoted next.

Everything here is data for templates (dicts, lists, strings), never markup. Only the ledger's
documents — secret values redacted when they were stored — reach a page, with secret
fingerprints shown as ``(secret)``; the dashboard resolves no secret to show it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from promoter.builtins.reports.document import mask_fingerprints
from promoter.engine.status import PhaseStatus, PipelineStatus, pipeline_status, verified
from promoter.errors import PromoterError
from promoter.hooks.calls import PromoterHooks
from promoter.ledger import Ledger, LockInfo, RunRecord
from promoter.model import RunStatus
from promoter.pipeline import LoadedPipeline
from promoter.release import Release, ReleaseSummary

FAILED_ATTEMPT = frozenset(
    {
        RunStatus.FAILED,
        RunStatus.ROLLED_BACK,
        RunStatus.ROLLBACK_INCOMPLETE,
        RunStatus.INTERRUPTED,
    }
)
"""Statuses of an attempt that did not leave its release in place: a cell marks the latest one."""

TARGET_HISTORY = 200
"""How many of a target's latest runs a matrix cell looks at (as ``promoter status`` does)."""

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,159}$")


def slug(identifier: str | None) -> str | None:
    """``identifier`` when it can name a page file as it is (run ids, release ids, Talend's
    execution ids all can); ``None`` otherwise: that thing is shown, but gets no page."""
    if identifier and _SAFE_ID.match(identifier):
        return identifier
    return None


def iso(moment: datetime | str | None) -> str | None:
    """A time as ``2026-12-03 10:00:00 UTC`` (what every page shows)."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    else:
        parsed = moment
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


@dataclass(frozen=True)
class Source:
    """One pipeline file of the dashboard, loaded."""

    file: str
    """As given on the command line (shown in commands people copy)."""
    loaded: LoadedPipeline

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return self.loaded.pipeline.name

    @property
    def phases(self) -> list[str]:
        """The lifecycle phases (target environments), in order."""
        return [t.environment for t in self.loaded.pipeline.targets]

    def target_key(self, environment: str) -> str:
        """``environment/workspace`` of a phase."""
        pipeline = self.loaded.pipeline
        return pipeline.target_ref(pipeline.select_target(environment)).key

    def promote_command(self, release: str, environment: str) -> str:
        """The command that promotes ``release`` to ``environment``."""
        return f"promoter promote {self.file} --release {release} --target {environment}"


@dataclass(frozen=True)
class Execution:
    """A platform execution the dashboard shows a log page of (and the run that started it)."""

    execution_id: str
    source: Source
    environment: str
    task: str | None = None
    run_id: str | None = None


def release_brief(release: ReleaseSummary) -> dict[str, Any]:
    """A release as a cell shows it: id, exact versions, digest."""
    return {
        "id": release.id,
        "versions": sorted(release.versions.items()),
        "digest": release.digest,
        "digest_short": release.digest[:15],
        "hotfix": release.hotfix,
        "created_at": iso(release.created_at),
        "created_by": release.created_by,
        "source": release.source,
        "pipeline": release.pipeline,
    }


def attempt(record: RunRecord | None, reason: str | None = None) -> dict[str, Any] | None:
    """A run as a cell mentions it (a failed attempt, a refused one)."""
    if record is None:
        return None
    return {
        "run": record.id,
        "status": record.status.value,
        "release": record.release,
        "at": iso(record.created_at),
        "message": record.message,
        "reason": reason,
    }


def lock_view(lock: LockInfo | None) -> dict[str, Any] | None:
    """Who holds a phase's lock."""
    if lock is None:
        return None
    return {"run": lock.run_id, "owner": lock.owner, "text": lock.describe(), "alive": lock.holder_alive}


def drift_view(phase: PhaseStatus) -> dict[str, Any] | None:
    """``none``, ``drift`` (with the changes), ``unknown`` (why) or ``unchecked``."""
    if phase.release is None:
        return None
    drift = phase.drift
    if drift is None:
        return {"state": "unchecked", "text": "not checked", "changes": []}
    if not drift.checked:
        return {"state": "unknown", "text": f"unknown: {drift.error}", "changes": []}
    if drift.drifted:
        return {
            "state": "drift",
            "text": f"drift: {len(drift.changes)} change(s) since the promotion",
            "changes": list(drift.changes),
        }
    return {"state": "none", "text": "no drift: the target holds the release", "changes": []}


def check_view(check: dict[str, Any]) -> dict[str, Any]:
    """A verification check (``checks`` document) with its evidence."""
    details = check.get("details") or {}
    execution = details.get("executionId")
    return {
        "name": check.get("name", ""),
        "passed": bool(check.get("passed")),
        "message": check.get("message", ""),
        "task": details.get("task"),
        "execution": execution,
        "execution_page": slug(execution) if not check.get("passed") else None,
        "status": details.get("status"),
        "processed": details.get("processedRows"),
        "rejected": details.get("rejectedRows"),
        "error_lines": list(details.get("errorLines") or []),
        "unavailable": details.get("errorLinesUnavailable"),
    }


class Dashboard:
    """The dashboard's data: pipelines, ledger, and what the platform says of each phase.

    ``promoter status`` of every pipeline is read once and kept until :meth:`refresh` (the
    server refreshes it when it is older than its refresh interval); everything else is read
    from the ledger when a page asks.
    """

    def __init__(
        self,
        hooks: PromoterHooks,
        ledger: Ledger,
        sources: list[Source],
        *,
        check_target: bool = True,
        history: int = 1000,
        log_page_size: int = 200,
    ) -> None:
        self.hooks = hooks
        self.ledger = ledger
        self.sources = sources
        self.check_target = check_target
        self.history = history
        self.log_page_size = log_page_size
        self.statuses: dict[str, PipelineStatus] = {}
        self.generated_at = datetime.now(UTC)
        self._refreshed: float | None = None
        self.executions: dict[str, Execution] = {}

    # --- promoter status, kept ------------------------------------------------------------

    def refresh(self, max_age: float | None = None) -> bool:
        """Read every pipeline's status again (drift and health from the platform, unless
        ``check_target`` is off) — unless the last read is younger than ``max_age`` seconds.
        Whether it was read again."""
        if (
            max_age is not None
            and self._refreshed is not None
            and time.monotonic() - self._refreshed < max_age
        ):
            return False
        self.statuses = {
            s.file: pipeline_status(self.hooks, self.ledger, s.loaded, check_target=self.check_target)
            for s in self.sources
        }
        self._refreshed = time.monotonic()
        self.generated_at = datetime.now(UTC)
        return True

    def matrix_time(self) -> str | None:
        """When the kept status was read (what every page says it shows)."""
        return iso(self.generated_at)

    def status(self, source: Source) -> PipelineStatus:
        """``promoter status`` of ``source`` (read on first use)."""
        if source.file not in self.statuses:
            self.refresh()
        return self.statuses[source.file]

    def source_named(self, pipeline: str) -> Source | None:
        """The first source whose pipeline is called ``pipeline``."""
        return next((s for s in self.sources if s.name == pipeline), None)

    def _history(self, target: str) -> list[RunRecord]:
        return [r for r in self.ledger.list_runs(target=target, limit=TARGET_HISTORY) if not r.dry_run]

    # --- the matrix ---------------------------------------------------------------------

    def matrix(self) -> dict[str, Any]:
        """Pipelines down, phases across: each cell what runs there now, and its state."""
        columns: list[str] = []
        for source in self.sources:
            columns.extend(p for p in source.phases if p not in columns)
        rows = [self._pipeline_row(source, columns) for source in self.sources]
        return {
            "columns": columns,
            "rows": rows,
            "checked": self.check_target,
            "generated_at": iso(self.generated_at),
        }

    def _pipeline_row(self, source: Source, columns: list[str]) -> dict[str, Any]:
        status = self.status(source)
        cells = {
            phase.environment: self._cell(source, phase, self._history(phase.target))
            for phase in status.phases
        }
        releases = []
        for release in status.releases:
            words = status.matrix.get(release.id, {})
            releases.append(
                {
                    **release_brief(release),
                    "cells": [
                        self._release_word(status, release.id, env, words.get(env, ""))
                        if env in source.phases
                        else None
                        for env in columns
                    ],
                }
            )
        return {
            "pipeline": source.name,
            "file": source.file,
            "source": status.source,
            "phases": source.phases,
            "cells": [cells.get(env) for env in columns],
            "releases": releases,
        }

    @staticmethod
    def _release_word(status: PipelineStatus, release: str, env: str, word: str) -> dict[str, str]:
        phase = next(p for p in status.phases if p.environment == env)
        why = next(
            (w.partition(": ")[2] for w in phase.waiting if w.partition(": ")[0] == release), None
        )
        if why and word in ("blocked", "waiting"):
            word = f"{word}: {why}" if word == "blocked" else why
        state = word.split(":")[0].split(",")[0].replace(" ", "-") or "none"
        return {"word": word, "state": state}

    def _cell(self, source: Source, phase: PhaseStatus, history: list[RunRecord]) -> dict[str, Any]:
        current = next((r for r in history if r.id == phase.promoted_by), None)
        later = [r for r in history if current is None or r.created_at > current.created_at]
        failed = next((r for r in later if r.status in FAILED_ATTEMPT), None)
        refused = next((r for r in later if r.status is RunStatus.BLOCKED), None)
        return {
            "environment": phase.environment,
            "target": phase.target,
            "after": phase.after,
            "release": release_brief(phase.release) if phase.release else None,
            "promoted_by": phase.promoted_by,
            "promoted_at": iso(phase.promoted_at),
            "hotfix": phase.hotfix,
            "drift": drift_view(phase),
            "health": self._health(source, phase),
            "lock": lock_view(phase.lock),
            "failed_attempt": attempt(failed),
            "refused": attempt(refused, self.denied(refused.id) if refused else None),
            "next": (
                {
                    "release": phase.next,
                    "command": source.promote_command(phase.next, phase.environment),
                }
                if phase.next
                else None
            ),
            "waiting": [
                {"release": w.partition(": ")[0], "why": w.partition(": ")[2]} for w in phase.waiting
            ],
        }

    def _health(self, source: Source, phase: PhaseStatus) -> dict[str, Any] | None:
        health = phase.health
        if health is None:
            return None
        ended = health.successes + health.failures
        last = health.last_failure
        failure = None
        if last is not None:
            execution = str(last.get("executionId") or "")
            failure = {
                "execution": execution,
                "execution_page": slug(execution),
                "task": last.get("task"),
                "status": last.get("status"),
                "at": iso(last.get("at")),
            }
            if slug(execution):
                self.remember(Execution(execution, source, phase.environment, last.get("task")))
        return {
            "successes": health.successes,
            "failures": health.failures,
            "running": health.running,
            "since": iso(health.since),
            "rate": round(100 * health.successes / ended) if ended else None,
            "last_failure": failure,
        }

    # --- documents ------------------------------------------------------------------------

    def document_list(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        """The ``gates`` and ``checks`` documents of a run (fingerprints masked)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for kind in ("gates", "checks"):
            body = self.ledger.document(run_id, kind)
            value = json.loads(body) if body else []
            found[kind] = mask_fingerprints(value) if isinstance(value, list) else []
        return found

    def denied(self, run_id: str) -> str | None:
        """``lifecycle: test has not verified it``: the first gate that refused a run."""
        for gate in self.document_list(run_id)["gates"]:
            if not gate.get("allowed", True):
                return f"{gate.get('gate')}: {gate.get('reason')}"
        return None

    def promotion(self, record: RunRecord) -> dict[str, Any]:
        """A run as its release's page and its own page show it: outcome, gates, evidence."""
        documents = self.document_list(record.id)
        source = self.source_named(record.pipeline_name)
        checks = [check_view(c) for c in documents["checks"]]
        environment = record.target.split("/", 1)[0]
        if source is not None:
            for check in checks:
                if check["execution_page"]:
                    self.remember(
                        Execution(check["execution"], source, environment, check["task"], record.id)
                    )
        return {
            "run": record.id,
            "run_page": slug(record.id),
            "status": record.status.value,
            "exit_code": record.exit_code,
            "command": record.command,
            "pipeline": record.pipeline_name,
            "source": record.source,
            "target": record.target,
            "environment": environment,
            "release": record.release,
            "digest": record.digest,
            "versions": sorted(record.versions.items()),
            "at": iso(record.created_at),
            "finished": iso(record.updated_at),
            "user": record.user,
            "dry_run": record.dry_run,
            "hotfix": record.hotfix,
            "reason": record.reason,
            "message": record.message,
            "gates": documents["gates"],
            "checks": checks,
        }

    # --- releases and runs ------------------------------------------------------------------

    def releases(self) -> list[ReleaseSummary]:
        """The latest releases of the dashboard's pipelines, newest first."""
        names = list(dict.fromkeys(s.name for s in self.sources))
        found = [r for name in names for r in self.ledger.releases(pipeline=name, limit=self.history)]
        return sorted(found, key=lambda r: r.created_at, reverse=True)[: self.history]

    def runs_now(self) -> dict[str, list[str]]:
        """Release id -> the phases it runs in now (by the kept status)."""
        where: dict[str, list[str]] = {}
        for source in self.sources:
            for phase in self.status(source).phases:
                if phase.release is not None:
                    where.setdefault(phase.release.id, []).append(phase.environment)
        return where

    def runs(self) -> list[RunRecord]:
        """The latest runs of the dashboard's pipelines, newest first."""
        names = {s.name for s in self.sources}
        return [r for r in self.ledger.list_runs(limit=self.history) if r.pipeline_name in names]

    def release_view(self, release_id: str) -> dict[str, Any] | None:
        """A release's page: digest, versions, objects, every promotion, what blocks it."""
        try:
            release = self.ledger.release(release_id)
        except PromoterError:
            return None
        if release.id != release_id:
            return None  # a prefix: pages are found by their exact id
        runs = self.ledger.runs_of_release(release=release.id, limit=self.history)
        source = self.source_named(release.pipeline)
        phases = self._release_phases(source, release, runs) if source is not None else []
        return {
            "release": release_brief(release),
            "file": source.file if source else None,
            "objects": [
                {
                    "kind": o.kind,
                    "key": o.key,
                    "body": json.dumps(mask_fingerprints(o.body), indent=2, sort_keys=True),
                }
                for o in sorted(release.bundle.objects, key=lambda o: (o.kind, o.key))
            ],
            "promotions": [self.promotion(r) for r in runs],
            "phases": phases,
            "next": next((p for p in phases if not p["verified"]), None),
        }

    def _release_phases(
        self, source: Source, release: Release, runs: list[RunRecord]
    ) -> list[dict[str, Any]]:
        pipeline = source.loaded.pipeline
        verified_in: dict[str, set[str]] = {}
        current: dict[str, str | None] = {}
        for env in source.phases:
            history = self._history(source.target_key(env))
            verified_in[env] = {r.digest for r in history if verified(r) and r.digest}
            now = next((r for r in history if verified(r)), None)
            current[env] = now.release if now else None
        phases = []
        for env in source.phases:
            target = source.target_key(env)
            mine = [r for r in runs if r.target == target and not r.dry_run]
            is_verified = release.digest in verified_in[env]
            missing = [
                p for p in pipeline.phases_before(env) if release.digest not in verified_in.get(p, set())
            ]
            if current[env] == release.id:
                state, text = "current", "runs now"
            elif is_verified:
                state, text = "verified", "verified, replaced since"
            elif mine:
                state, text = mine[0].status.value, f"last attempt {mine[0].status.value}"
            else:
                state, text = "none", "not promoted yet"
            blocker = None
            if not is_verified and missing:
                blocker = f"waiting for {', '.join(missing)}"
                refused = next((r for r in mine if r.status is RunStatus.BLOCKED), None)
                said = self.denied(refused.id) if refused else None
                if said:
                    blocker += f" (the last attempt was refused: {said})"
            phases.append(
                {
                    "environment": env,
                    "target": target,
                    "state": state,
                    "text": text,
                    "verified": is_verified,
                    "blocker": blocker,
                    "command": None if is_verified or missing else source.promote_command(release.id, env),
                    "last_run": mine[0].id if mine else None,
                }
            )
        return phases

    def run_view(self, run_id: str) -> dict[str, Any] | None:
        """A run's page: what it was, and its failed executions (each with a log page)."""
        try:
            record = self.ledger.get_run(run_id)
        except PromoterError:
            return None
        if record.id != run_id:
            return None
        view = self.promotion(record)
        view["has_report"] = self.ledger.document(record.id, "outcome") is not None
        view["release_page"] = slug(record.release)
        return view

    # --- executions ---------------------------------------------------------------------------

    def remember(self, execution: Execution) -> None:
        """Note an execution whose log the pages link to."""
        self.executions.setdefault(execution.execution_id, execution)

    def execution(self, execution_id: str) -> Execution | None:
        """An execution the dashboard links a log to: a failed smoke check of a recent run, or
        a phase's last failed execution; ``None`` for any other (no page)."""
        if execution_id in self.executions:
            return self.executions[execution_id]
        for source in self.sources:
            status = self.status(source)
            for phase in status.phases:
                self._health(source, phase)
        for record in self.runs():
            if execution_id in self.executions:
                break
            self.promotion(record)
        return self.executions.get(execution_id)
