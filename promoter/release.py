"""Releases: what a promotion moves, frozen once, and the record of where it went.

A **release** is made from the source at one moment: every artifact resolved to its exact
version (``latest`` and globs resolved once) and the source's canonical form of every object
the pipeline promotes (what ``promoter_export`` returns; secret values are fingerprints, never
values). It is immutable and content-addressed: its :attr:`~ReleaseSummary.digest` is a hash of
the source, the versions and the objects, so two releases made from an unchanged source have
the same digest, and any change to a promoted object's configuration changes it.

Promoting a release applies exactly that release, whatever the source holds by then; a
lifecycle (``builtins/lifecycle.py``) lets a release into a phase only after the phase before
it verified a release with the same digest. :class:`Promotion` is what a gate sees of that
history (``run.history``); :class:`TargetHealth` what a platform reports of a phase's
executions since a moment (``promoter_target_health``).

Like :mod:`promoter.model`, this module imports nothing of the engine, the ledger or a platform.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from promoter.model import ExportBundle, RunStatus, utcnow

RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$")
"""What a release id may be: a name people can say and type (``finance-release-2026.12.03.1``)."""


class ReleaseSummary(BaseModel):
    """A release without its objects: what ``promoter release list`` shows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    """``<pipeline>-<yyyy.mm.dd>.<n>`` (or the ``--name`` given when it was made)."""
    digest: str
    """``sha256:<hex>`` of the source, the versions and the objects (:func:`release_digest`)."""
    pipeline: str
    source: str
    """The source it was made from (``environment/workspace``)."""
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = ""
    versions: dict[str, str] = Field(default_factory=dict)
    """Artifact name -> exact version."""
    hotfix: bool = False
    """Made for a hotfix (``--only``): it may skip lifecycle phases, with a reason and approval."""

    def describe(self) -> str:
        """``finance-release-2026.12.03.1 (finance_daily_load 0.2.0, ...; sha256:1a2b3c4d)``."""
        versions = ", ".join(f"{name} {version}" for name, version in sorted(self.versions.items()))
        return f"{self.id} ({versions or 'no artifacts'}; {self.digest[:15]})"


class Release(ReleaseSummary):
    """A release with the objects it promotes (the source's canonical form)."""

    bundle: ExportBundle

    @property
    def objects(self) -> list[tuple[str, str]]:
        """``(kind, key)`` of every object, sorted."""
        return sorted((o.kind, o.key) for o in self.bundle.objects)

    def summary(self) -> ReleaseSummary:
        """The release without its objects."""
        return ReleaseSummary.model_validate(self.model_dump(exclude={"bundle"}))


def release_digest(bundle: ExportBundle) -> str:
    """The content digest of what ``bundle`` promotes: its source, versions and objects.

    Canonical JSON (sorted keys, objects sorted by kind and key), so the order a platform read
    things in does not matter; the time of the export and the bundle's free-form metadata do
    not count.
    """
    canonical = {
        "source": bundle.source.key,
        "versions": dict(sorted(bundle.versions.items())),
        "objects": [
            {"kind": o.kind, "key": o.key, "body": o.body}
            for o in sorted(bundle.objects, key=lambda o: (o.kind, o.key))
        ],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class Promotion(BaseModel):
    """One run of a release to a target, as the ledger recorded it (``run.history``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    release: str
    digest: str
    target: str
    """``environment/workspace``."""
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    """When its latest status was recorded (for a promoted run: when it was verified)."""
    dry_run: bool = False
    hotfix: bool = False
    reason: str | None = None
    user: str = ""

    @property
    def environment(self) -> str:
        """The target's environment."""
        return self.target.split("/", 1)[0]

    @property
    def verified(self) -> bool:
        """Promoted and verified, and not rolled back since."""
        return self.status is RunStatus.PROMOTED and not self.dry_run


class TargetHealth(BaseModel):
    """What a platform reports of a target's executions of some tasks since a moment."""

    model_config = ConfigDict(extra="forbid")

    since: datetime
    successes: int = 0
    failures: int = 0
    running: int = 0
    last_failure: dict[str, Any] | None = None
    """The latest failed execution: ``{"executionId", "task", "status", "at"}``."""

    def describe(self) -> str:
        """``3 succeeded, 0 failed since 2026-12-03 10:00 UTC``."""
        text = f"{self.successes} succeeded, {self.failures} failed"
        if self.running:
            text += f", {self.running} running"
        return f"{text} since {self.since:%Y-%m-%d %H:%M:%S} UTC"


_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(text: str | int | float) -> timedelta:
    """``2h``, ``30m``, ``1h30m``, ``45s``, ``1d`` (or a number of seconds) as a timedelta;
    raises ``ValueError`` naming the accepted forms."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ValueError("a duration is not negative")
        return timedelta(seconds=float(text))
    match = _DURATION.match(str(text))
    if not str(text).strip() or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: use e.g. 2h, 30m, 1h30m, 45s or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """``1h 12m`` (whole seconds, largest units first; ``0s`` for nothing)."""
    total = max(0, int(value.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return " ".join(parts[:2]) or "0s"
