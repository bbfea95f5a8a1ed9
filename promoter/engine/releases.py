"""Releases in the engine: made from what export read, found again by their digest, named, and
tied to the runs that promote them; and what a run may read of that history.

A release is made once per content: making one from an unchanged source finds the release that
has its digest (``promote`` without ``--release`` says which), unless a ``--name`` is asked for.
Ids are ``<pipeline>-<yyyy.mm.dd>.<n>`` — ``finance-release-2026.12.03.1`` — numbered per day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from promoter.context import RunContext
from promoter.errors import ConfigurationError, RunStateError
from promoter.hooks.calls import PromoterHooks
from promoter.ledger import Ledger, ReleaseExists
from promoter.model import EXPORT, ExportBundle, TargetRef
from promoter.release import (
    RELEASE_ID,
    Promotion,
    Release,
    TargetHealth,
    release_digest,
)
from promoter.terminal import printable

log = logging.getLogger(__name__)

MAX_ID_ATTEMPTS = 20
"""How often a generated id is taken by a concurrent maker before giving up (never, in practice)."""


@dataclass(frozen=True)
class MadeRelease:
    """A release, and whether it was made just now (``False``: an unchanged source's)."""

    release: Release
    created: bool

    def describe(self) -> str:
        """What the console says about it."""
        if self.created:
            return f"release {self.release.describe()} made from {self.release.source}"
        return f"release {self.release.describe()}: the source is unchanged since it was made"


def make_release(
    ledger: Ledger,
    run: RunContext,
    bundle: ExportBundle,
    *,
    name: str | None = None,
) -> MadeRelease:
    """The release of what ``bundle`` holds: the one with its digest, or a new one (``name``:
    always a new one, with that id)."""
    digest = release_digest(bundle)
    hotfix = run.hotfix
    pipeline = run.pipeline.name
    if name is None:
        existing = ledger.release_with_digest(pipeline, digest)
        if existing is not None and existing.hotfix == hotfix:
            return MadeRelease(ledger.release(existing.id), created=False)
    elif not RELEASE_ID.match(name):
        raise ConfigurationError(
            f"{printable(name)!r} is not a release name",
            hint="use letters, digits, '.', '_' and '-' (e.g. 2026.12-q4-close), at most 120",
        )
    prefix = f"{pipeline}-{datetime.now(UTC):%Y.%m.%d}"
    for _ in range(MAX_ID_ATTEMPTS):
        release = Release(
            id=name or ledger.next_release_id(prefix),
            digest=digest,
            pipeline=pipeline,
            source=bundle.source.key,
            created_by=run.user,
            versions=dict(bundle.versions),
            hotfix=hotfix,
            bundle=bundle,
        )
        try:
            ledger.add_release(release)
        except ReleaseExists:
            if name is not None:
                raise RunStateError(
                    f"a release named {name!r} exists already",
                    hint=f"`promoter release show {name}` shows it; choose another --name",
                ) from None
            continue  # another runner took that number a moment ago: the next one
        return MadeRelease(release, created=True)
    raise RunStateError(f"could not find a free release id for {prefix} (busy ledger?)")


def release_for_run(ledger: Ledger, run: RunContext, release_id: str) -> Release:
    """The release ``--release`` names, checked against the run's pipeline and source."""
    release = ledger.release(release_id)
    if release.pipeline != run.pipeline.name:
        raise RunStateError(
            f"release {release.id} is of pipeline {release.pipeline!r}, not "
            f"{run.pipeline.name!r}",
            hint="promote it with its own pipeline file",
        )
    if release.source != run.source.key:
        raise RunStateError(
            f"release {release.id} was made from {release.source}; this pipeline's source is "
            f"{run.source.key}",
            hint="make a new release of this pipeline: `promoter release create FILE`",
        )
    if release.hotfix and not run.hotfix:
        raise RunStateError(
            f"release {release.id} is a hotfix (made with --only): promote it as a hotfix",
            hint="add --only with its artifacts, and --reason",
        )
    return release


class LedgerHistory:
    """``run.history``: promotions of releases, from the ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def promotions(
        self, *, digest: str | None = None, release: str | None = None
    ) -> list[Promotion]:
        """Runs of releases with that digest (or of that release), newest first."""
        records = self.ledger.runs_of_release(release=release, digest=digest)
        return [p for p in (r.promotion() for r in records) if p is not None]


class HookObserver:
    """``run.observer``: the platform plugins, asked through their hooks."""

    def __init__(self, hooks: PromoterHooks, run: RunContext) -> None:
        self.hooks = hooks
        self.run = run

    def target_health(
        self, target: TargetRef, release: Release, since: datetime
    ) -> TargetHealth | None:
        """``promoter_target_health`` for ``target``."""
        return self.hooks.target_health(run=self.run, target=target, release=release, since=since)


def create_release(
    hooks: PromoterHooks, ledger: Ledger, run: RunContext, *, name: str | None = None
) -> MadeRelease:
    """``promoter release create``: export the source (the export stage alone, not recorded
    as a run) and make its release — or find the one an unchanged source already has."""
    hooks.require("promoter_export")
    hooks.check_run(run=run)
    try:
        bundle = hooks.first(EXPORT, run=run)
    finally:
        run.close()
    return make_release(ledger, run, bundle, name=name)
