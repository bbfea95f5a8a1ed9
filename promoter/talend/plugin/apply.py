"""Apply: write the plan's changes to the target (after :mod:`.snapshot` recorded it).

Apply writes in dependency order — workspace, artifact versions, connections, tasks, plans —
reporting progress per object (``started`` before writing it, ``done`` after), and skips what an
interrupted attempt of the same run already finished. What does not depend on each other
overlaps:

- Artifact versions travel by Talend's own promotion, one artifact after another (Talend runs one
  promotion per environment pair at a time), in a thread of their own: the artifacts of the smoke
  tests' tasks first, then by name.
- Meanwhile connections are written, then every task whose artifact version is already in the
  target, ``apply.concurrency`` at a time; a task waiting for a version is written as soon as
  its artifact's promotion lands.
- A task that a smoke test runs starts its execution as soon as it is written (and its write
  checked): the execution runs while apply goes on, and verify judges it
  (:func:`~.verify.start_early`). When apply fails, those executions are stopped before the
  rollback.
- Plans, which name tasks, come last.

Two strategies:

``direct``
    Talend's orchestration API writes. Artifact versions missing from the target are brought by
    Talend's promotion scoped to the artifact (``ACTION``), which does not touch tasks.
``native``
    Talend's own promotion for each task (``FLOW`` scope), then the same writes as ``direct`` to
    bind each task to the promoted version and to the mapped connections and parameters — which
    Talend's promotion does not do. Those promotions share the environment pair with the
    artifacts': tasks are written one after another once every artifact has landed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor

from promoter import (
    ApplyResult,
    Change,
    ObjectRef,
    Plan,
    RunContext,
    Snapshot,
    hookimpl,
)
from promoter.talend.plugin.sections import config
from promoter.talend.plugin.session import TalendSession, session
from promoter.talend.plugin.verify import smoke_tests_by_task, start_early, stop_early
from promoter.talend.plugin.workspace import (
    APPLY_ORDER,
    ARTIFACT_VERSION,
    CONNECTION,
    PLAN,
    TASK,
    WORKSPACE,
    version_key,
)
from promoter.talend.plugin.writes import (
    WriteError,
    copy_artifact_version,
    create_workspace,
    promote_scoped,
    write_connection,
    write_plan,
    write_task,
)


def _native_flow(talend: TalendSession, name: str) -> None:
    """Talend's own promotion of one task (FLOW scope)."""
    promote_scoped(talend, talend.source.tasks[name].executable, name, "FLOW")
    talend.target.forget(TASK, CONNECTION)


def _collect_into(found: list[tuple[str, str]]) -> Callable[[str, str], None]:
    """A ``delete(artifact_id, version)`` for :func:`copy_artifact_version` that only notes the
    version, for apply to delete it in its own time."""
    return lambda artifact_id, version: found.append((artifact_id, version))


class _Apply:
    """One apply: the plan's pending changes by kind, and what has been written."""

    def __init__(self, run: RunContext, plan: Plan) -> None:
        self.run = run
        self.talend = session(run)
        self.settings = config(run)
        self.native = self.settings.apply.strategy == "native"
        self.applied: list[ObjectRef] = []
        self.skipped: list[ObjectRef] = []
        self.by_kind: dict[str, list[Change]] = {}
        # What the target held of each artifact when the plan was made (None: a plan from a
        # plugin or an older promoter that did not record it).
        recorded = plan.metadata.get("targetVersions")
        self.target_versions: dict[str, list[str]] = recorded if isinstance(recorded, dict) else {}
        for change in plan.pending:
            if run.already_done("apply", change.kind, change.key):
                self.skipped.append(change.ref)
            else:
                self.by_kind.setdefault(change.kind, []).append(change)
        self._lock = threading.Lock()
        self.failed = threading.Event()
        # Smoke runs start as their task is written; not on a resumed run, whose verify adopts
        # the executions its interrupted attempt started.
        self.smoke = {} if run.resumed else smoke_tests_by_task(run)

    # ------------------------------------------------------------------ progress

    def started(self, change: Change) -> None:
        self.run.progress("apply", change.kind, change.key, "started")

    def done(self, change: Change) -> None:
        self.run.progress("apply", change.kind, change.key, "done", f"{change.action.value}d")
        with self._lock:
            self.applied.append(change.ref)

    # ------------------------------------------------------------------ the kinds

    def workspace(self) -> None:
        for change in self.by_kind.get(WORKSPACE, []):
            self.started(change)
            create_workspace(self.talend.target, change.after or {})
            self.done(change)

    def connections(self) -> None:
        for change in self.by_kind.get(CONNECTION, []):
            write_connection(self.talend.target, change.after or {}, self.run.secrets.resolve)
            self.done(change)

    def plans(self) -> None:
        for change in self.by_kind.get(PLAN, []):
            self.started(change)
            write_plan(self.talend.target, change.after or {})
            self.done(change)

    def artifact_order(self) -> list[str]:
        """Artifacts to promote: those of the smoke tests' tasks first, then by name."""
        names = sorted({c.after["name"] for c in self.by_kind.get(ARTIFACT_VERSION, []) if c.after})
        smoked = {
            c.after["artifact"]["name"]
            for c in self.by_kind.get(TASK, [])
            if c.after and c.key in self.smoke
        }
        return sorted(names, key=lambda n: (n not in smoked, n))

    def promote_artifacts(
        self, landed: Callable[[str], None], later: Callable[[Callable[[], None]], None]
    ) -> None:
        """Promote each artifact's versions in turn; ``landed(name)`` once they are all there.
        The versions a promotion brought along that the release does not name are deleted
        ``later`` (by the writers: the next promotion need not wait for it), and the artifact's
        versions are recorded done only after that: a run that dies in between leaves them to
        its resume, which must not find them done with an extra version still in the target."""
        client = self.talend.client
        changes: dict[str, list[Change]] = {}
        for change in self.by_kind.get(ARTIFACT_VERSION, []):
            assert change.after is not None
            changes.setdefault(change.after["name"], []).append(change)
        for name in self.artifact_order():
            if self.failed.is_set():
                return
            ours = changes[name]
            wanted = {c.after["version"] for c in ours if c.after}
            extra: list[tuple[str, str]] = []  # (artifact id, version) brought along
            held = self.target_versions.get(name)
            present = copy_artifact_version(
                self.talend, name, wanted, delete=_collect_into(extra), before=held
            )
            for change in ours:
                assert change.after is not None
                if change.after["version"] not in present:
                    raise WriteError(f"artifact version {change.key} did not reach the target")

            def finish(ours: list[Change] = ours, extra: list[tuple[str, str]] = extra) -> None:
                for artifact_id, version in extra:
                    client.artifacts.delete_version(artifact_id, version)
                for change in ours:
                    self.done(change)

            if extra:
                later(finish)
            else:
                finish()
            landed(name)

    def write_task(self, change: Change) -> None:
        assert change.after is not None
        if self.failed.is_set():
            return
        if self.native:
            _native_flow(self.talend, change.key)
        target = self.talend.target
        write_task(target, change.after, self.run.secrets.resolve)
        self.done(change)
        if change.key in self.smoke:
            summary = target.tasks.get(change.key)
            if summary is not None:
                start_early(self.run, self.talend.client, change.key, summary.executable)

    # ------------------------------------------------------------------ the whole

    def apply(self) -> ApplyResult:
        self.workspace()
        tasks = self.by_kind.get(TASK, [])
        pending_versions = {c.key for c in self.by_kind.get(ARTIFACT_VERSION, [])}
        waiting: dict[str, list[Change]] = {}  # artifact name -> tasks waiting for it
        ready: list[Change] = []
        for change in tasks:
            assert change.after is not None
            artifact = change.after["artifact"]
            if version_key(artifact["name"], artifact["version"]) in pending_versions:
                waiting.setdefault(artifact["name"], []).append(change)
            else:
                ready.append(change)
        # Every object is recorded as started before anything of the kinds that overlap is
        # written: a run that lost its lock stops at the first of these (the ledger refuses),
        # before the first promotion or task write, and a worker's "started" never follows
        # another's write.
        connections = self.by_kind.get(CONNECTION, [])
        for change in [*self.by_kind.get(ARTIFACT_VERSION, []), *connections, *tasks]:
            self.started(change)
        landed: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        concurrency = 1 if self.native else self.settings.apply.concurrency
        errors: list[BaseException] = []
        with ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="promoter-artifacts"
        ) as artifacts, ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="promoter-apply"
        ) as writers:

            def later(work: Callable[[], None]) -> None:
                writes.append(writers.submit(self._guarded_call, work))

            def promote() -> None:
                try:
                    self.promote_artifacts(landed.put, later)
                except BaseException:
                    self.failed.set()
                    raise
                finally:
                    landed.put(None)

            writes: list[Future[None]] = []
            promoted = artifacts.submit(promote)

            def submit(batch: list[Change]) -> None:
                for change in batch:
                    writes.append(writers.submit(self._guarded, change))

            try:
                self.connections()
                if self.native:  # Talend's task promotions wait for the artifacts' (one pair)
                    while landed.get() is not None:
                        pass
                    ready += [c for batch in waiting.values() for c in batch]
                    waiting.clear()
                submit(ready)
                while (name := landed.get()) is not None:
                    submit(waiting.pop(name, []))
            except BaseException:
                # Connections failed, or the run was interrupted: write nothing more.
                self.failed.set()
                for future in writes:
                    future.cancel()
                raise
            for future in [promoted, *writes]:
                try:
                    future.result()
                except CancelledError:
                    continue
                except BaseException as exc:
                    errors.append(exc)
                    self.failed.set()
                    for other in writes:
                        other.cancel()
        if errors:
            stop_early(self.run, self.talend.client, "stopped: apply failed")
            raise errors[0]
        self.plans()
        return ApplyResult(
            applied=self.applied,
            skipped=self.skipped,
            metadata={"strategy": self.settings.apply.strategy},
        )

    def _guarded(self, change: Change) -> None:
        self._guarded_call(lambda: self.write_task(change))

    def _guarded_call(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException:
            self.failed.set()
            raise


assert APPLY_ORDER == (WORKSPACE, ARTIFACT_VERSION, CONNECTION, TASK, PLAN)  # what _Apply follows


def apply_plan(run: RunContext, plan: Plan) -> ApplyResult:
    """Write the plan's pending changes, in dependency order, overlapping what is independent."""
    return _Apply(run, plan).apply()


@hookimpl(trylast=True)
def promoter_apply(run: RunContext, plan: Plan, snapshot: Snapshot) -> ApplyResult:
    """The built-in Talend apply (``direct`` or ``native``)."""
    return apply_plan(run, plan)
