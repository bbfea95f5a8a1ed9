"""A Talend workspace in *canonical form*: the common language of the Talend stages.

Export reads the source workspace in this form, map turns it into the form the target must have,
plan compares that with the target read in the same form, snapshot keeps the target's form, and
rollback writes it back and reads again to prove the target equals the snapshot.

Canonical bodies name things instead of pointing at ids — a task's connections are
``{app: connection name}``, its artifact ``{name, version}`` — because ids differ between
environments while names pair objects across them (as Talend's own promotion does). Secret values
never appear: a secret parameter (a connection parameter marked ``encrypted``, or any parameter
named like a password, token or key, or listed under ``parameters.secrets``) is replaced by a
fingerprint, so that the plan can tell *whether* it changes without anyone seeing it.

Object kinds and their keys:

``workspace``       the workspace's name: ``{name, description}``
``artifact``        the artifact's name: ``{name, type, versions}`` (versions present, newest first)
``artifact_version`` ``name@version``: ``{name, type, version}`` — a version the target must have
``connection``      the connection's name: ``{name, app, parameters: {name: value-or-fingerprint}}``
``task``            the task's name: ``{name, description, artifact, parameters, connections,
                    resources, tags, autoUpgradeInfo, runConfig, schedule}``
``plan``            the plan's name: ``{name, steps: [{name, tasks: [task names]}]}`` (Talend's
                    plan chart does not show step conditions: new plans get ALL_SUCCEEDED)
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
from collections.abc import Callable, Collection, Iterable
from typing import Any, Generic, TypeVar, cast, overload

from promoter import ObjectRef
from promoter.talend.client import TalendClient
from promoter.talend.masking import is_secret_parameter
from promoter.talend.models import (
    Artifact,
    Connection,
    EnvironmentInfo,
    ExecutionPlanSummary,
    Schedule,
    Task,
    TaskRunConfig,
    TaskSummary,
    WorkspaceInfo,
)

Body = dict[str, Any]

WORKSPACE = "workspace"
ARTIFACT = "artifact"
ARTIFACT_VERSION = "artifact_version"
CONNECTION = "connection"
TASK = "task"
PLAN = "plan"

#: The order in which apply writes kinds (rollback undoes them in reverse).
APPLY_ORDER = (WORKSPACE, ARTIFACT_VERSION, CONNECTION, TASK, PLAN)

FINGERPRINT_PREFIX = "secret:sha256:"

#: The lists a workspace is read from, one request each (a page of 100 items).
LISTS = ("tasks", "connections", "artifacts", "plans", "schedules")

#: The lists map, plan and snapshot read of a target (its plans only when a plan is promoted).
TARGET_LISTS = ("tasks", "connections", "artifacts", "schedules")

logger = logging.getLogger("promoter.talend")

#: The list that holds the objects of a kind (the workspace itself is no list).
LIST_OF_KIND = {
    TASK: "tasks",
    CONNECTION: "connections",
    ARTIFACT: "artifacts",
    ARTIFACT_VERSION: "artifacts",
    PLAN: "plans",
}

V = TypeVar("V")


def lists_read_for(kinds: Collection[str]) -> list[str]:
    """The lists of a target that reading objects of these kinds needs."""
    if TASK in kinds or PLAN in kinds:  # a task's body names connections, artifact, schedule
        return [*TARGET_LISTS, *(["plans"] if PLAN in kinds else [])]
    return [LIST_OF_KIND[kind] for kind in (ARTIFACT_VERSION, CONNECTION) if kind in kinds]


def fingerprint(value: str | None) -> str | None:
    """A stable, non-reversible stand-in for a secret value (``None`` stays ``None``)."""
    if value is None:
        return None
    return FINGERPRINT_PREFIX + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def is_fingerprint(value: Any) -> bool:
    """Whether a canonical value is a secret's fingerprint."""
    return isinstance(value, str) and value.startswith(FINGERPRINT_PREFIX)


def copy_body(body: Body | None) -> Body | None:
    """A deep copy of a canonical body: its dicts and lists new, its scalars shared.

    Canonical bodies hold only dicts, lists and scalars, so this is :func:`copy.deepcopy` without
    its memo and per-type dispatch, which cost three times as much over the thousand bodies a plan
    reads. Anything else (never seen in a canonical body) is still copied by ``deepcopy``.
    """
    return None if body is None else cast(Body, _copied(body))


_SCALARS = frozenset({str, int, float, bool})


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if value is None or kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def version_key(name: str, version: str) -> str:
    """The key of an ``artifact_version`` object."""
    return f"{name}@{version}"


class _ReadOnce(Generic[V]):
    """A property of a workspace read from Talend once, then kept in the instance (as
    ``functools.cached_property`` does: a write may update or drop it) — locked per workspace and
    per property: a reader arriving while another reads waits for that answer rather than send
    the request again, and readers of other workspaces or properties do not wait.
    (``cached_property`` locks per class on Python 3.11, and not at all from 3.12.)"""

    def __init__(self, read: Callable[[TalendWorkspace], V]) -> None:
        self.read = read
        self.name = read.__name__
        self.__doc__ = read.__doc__

    @overload
    def __get__(self, workspace: None, owner: type | None = None) -> _ReadOnce[V]: ...

    @overload
    def __get__(self, workspace: TalendWorkspace, owner: type | None = None) -> V: ...

    def __get__(
        self, workspace: TalendWorkspace | None, owner: type | None = None
    ) -> V | _ReadOnce[V]:
        if workspace is None:
            return self
        kept = workspace.__dict__
        if self.name in kept:
            return cast(V, kept[self.name])
        with workspace._reading(self.name):
            if self.name not in kept:
                kept[self.name] = self.read(workspace)
            return cast(V, kept[self.name])


class TalendWorkspace:
    """One workspace of one environment of a Talend account, read (and written) by name.

    Reads are cached for the life of the object: one list call per kind, then one ``GET`` per task
    that is actually needed. Writes keep the caches up to date. Thread-safe, so stages can fan out.
    """

    def __init__(
        self,
        client: TalendClient,
        environment: str,
        workspace: str,
        *,
        secret_parameters: Collection[str] = (),
    ) -> None:
        self.client = client
        self.environment_name = environment
        self.workspace_name = workspace
        self.secret_parameters = frozenset(secret_parameters)
        self._lock = threading.RLock()
        self._read_locks: dict[str, threading.Lock] = {}
        self._task_bodies: dict[str, Body | None] = {}

    def __repr__(self) -> str:
        return f"TalendWorkspace({self.environment_name}/{self.workspace_name})"

    # ------------------------------------------------------------------ identity

    @_ReadOnce
    def environment(self) -> EnvironmentInfo | None:
        """The environment, or ``None`` when it does not exist."""
        return self.client.environments.get_by_name(self.environment_name)

    @_ReadOnce
    def workspace(self) -> WorkspaceInfo | None:
        """The workspace, or ``None`` when it does not exist (yet)."""
        if self.environment is None:
            return None
        return self.client.workspaces.get_by_name(
            self.workspace_name, environment_id=self.environment.id
        )

    @property
    def workspace_id(self) -> str:
        """The workspace's id; the workspace must exist."""
        if self.workspace is None or self.workspace.id is None:
            raise LookupError(
                f"workspace {self.environment_name}/{self.workspace_name} does not exist"
            )
        return self.workspace.id

    def is_secret(self, name: str, encrypted: bool | None = None) -> bool:
        """Whether a parameter of this name holds a secret."""
        return name in self.secret_parameters or is_secret_parameter(name, encrypted)

    # ------------------------------------------------------------------ indexes (one list each)

    @_ReadOnce
    def tasks(self) -> dict[str, TaskSummary]:
        """Task list items by name."""
        if self.workspace is None:
            return {}
        return {t.name: t for t in self.client.tasks.list(workspace_id=self.workspace_id)}

    @_ReadOnce
    def connections(self) -> dict[str, Connection]:
        """Connections (with their parameters) by name."""
        if self.workspace is None:
            return {}
        return {c.name: c for c in self.client.connections.list(workspace_id=self.workspace_id)}

    @_ReadOnce
    def artifacts(self) -> dict[str, Artifact]:
        """Artifacts (with their versions) by name."""
        if self.workspace is None:
            return {}
        return {a.name: a for a in self.client.artifacts.list(workspace_id=self.workspace_id)}

    @_ReadOnce
    def plans(self) -> dict[str, ExecutionPlanSummary]:
        """Plans (with their charts) by name."""
        if self.workspace is None:
            return {}
        return {p.name: p for p in self.client.plans.list(workspace_id=self.workspace_id)}

    @_ReadOnce
    def schedules(self) -> dict[str, Schedule]:
        """The environment's schedules bound to an executable, by executable id."""
        if self.environment is None:
            return {}
        bound = self.client.schedules.list(environment_id=self.environment.id, only_bound=True)
        return {s.executable_id: s for s in bound if s.executable_id}

    @_ReadOnce
    def all_schedules(self) -> list[Schedule]:
        """Every schedule of the environment."""
        if self.environment is None:
            return []
        return list(self.client.schedules.list(environment_id=self.environment.id))

    def keep_identity_of(self, other: TalendWorkspace) -> None:
        """Take the environment and the workspace ``other`` found, if it found both (a view
        that found none looks them up again)."""
        found = other.__dict__
        if found.get("environment") is not None and found.get("workspace") is not None:
            self.__dict__["environment"] = found["environment"]
            self.__dict__["workspace"] = found["workspace"]

    def _reading(self, name: str) -> threading.Lock:
        """The lock of one of the workspace's reads (:class:`_ReadOnce`)."""
        with self._lock:
            return self._read_locks.setdefault(name, threading.Lock())

    def prefetch(self, names: Collection[str] = LISTS) -> None:
        """Read these lists at once — each is otherwise read when first needed, one after
        another — after the environment and the workspace, whose ids they need."""
        if self.workspace is None:
            return
        wanted = [name for name in names if name not in self.__dict__]
        self.client.map(lambda name: getattr(self, name), wanted, concurrency=len(LISTS))

    def prefetch_in_background(self, names: Collection[str] = TARGET_LISTS) -> None:
        """Start :meth:`prefetch` in a thread of its own and return at once: what it reads is
        there when a stage reaches for it, and a stage that reaches for a list being read
        waits for that answer. A failure is left to the stage's own read to meet (and say)."""

        def prefetch() -> None:
            try:
                self.prefetch(names)
            except Exception as exc:  # the stage that needs the list reads it again
                logger.debug("reading %r ahead failed: %s", self, exc)

        threading.Thread(target=prefetch, name=f"promoter-read-ahead {self!r}", daemon=True).start()

    def task_name(self, task_id: str) -> str | None:
        """The name of the task with this id, if it is in the workspace."""
        return next((name for name, t in self.tasks.items() if t.executable == task_id), None)

    def connection_name(self, connection_id: str) -> str | None:
        """The name of the connection with this id, if it is in the workspace."""
        return next((name for name, c in self.connections.items() if c.id == connection_id), None)

    def artifact_name(self, artifact_id: str) -> str | None:
        """The name of the artifact with this id, if it is in the workspace."""
        return next((name for name, a in self.artifacts.items() if a.id == artifact_id), None)

    # ------------------------------------------------------------------ canonical reads

    def read(self, ref: ObjectRef) -> Body | None:
        """The canonical body of an object, or ``None`` when it does not exist."""
        reader: Callable[[str], Body | None] = {
            WORKSPACE: self.read_workspace,
            ARTIFACT: self.read_artifact,
            ARTIFACT_VERSION: self.read_artifact_version,
            CONNECTION: self.read_connection,
            TASK: self.read_task,
            PLAN: self.read_plan,
        }[ref.kind]
        return reader(ref.key)

    def read_many(
        self, refs: Iterable[ObjectRef], *, concurrency: int = 8
    ) -> dict[ObjectRef, Body | None]:
        """Canonical bodies of many objects, the tasks not read yet fetched concurrently."""
        refs = list(refs)
        # Fill the list caches first, so that concurrent reads do not list in parallel.
        kinds = {ref.kind for ref in refs}
        if kinds & {TASK, PLAN}:
            self.prefetch(lists_read_for(kinds))
        # Only a task body not read yet costs a request of its own: those are fanned out. The rest
        # comes from the lists or the cache, and is read here rather than sent to a thread each.
        fetched = [ref for ref in refs if self._costs_a_request(ref)]
        bodies = dict(
            zip(fetched, self.client.map(self.read, fetched, concurrency=concurrency), strict=True)
        )
        return {ref: bodies[ref] if ref in bodies else self.read(ref) for ref in refs}

    def _costs_a_request(self, ref: ObjectRef) -> bool:
        """Whether reading ``ref`` sends a request of its own: a listed task not read yet."""
        if ref.kind != TASK:
            return False
        with self._lock:
            if ref.key in self._task_bodies:
                return False
        return ref.key in self.tasks

    def read_workspace(self, name: str) -> Body | None:
        """``{name, description}`` of the workspace (``name`` must be this workspace's)."""
        if self.workspace is None or name != self.workspace_name:
            return None
        return {"name": self.workspace.name, "description": self.workspace.description}

    def read_artifact(self, name: str) -> Body | None:
        """``{name, type, versions}``."""
        artifact = self.artifacts.get(name)
        if artifact is None:
            return None
        return {
            "name": artifact.name,
            "type": str(artifact.type),
            "versions": list(artifact.versions),
        }

    def read_artifact_version(self, key: str) -> Body | None:
        """``{name, type, version}`` when that version is present."""
        name, _, version = key.partition("@")
        artifact = self.artifacts.get(name)
        if artifact is None or version not in artifact.versions:
            return None
        return {"name": name, "type": str(artifact.type), "version": version}

    def read_connection(self, name: str) -> Body | None:
        """``{name, app, parameters}`` with secret values fingerprinted."""
        connection = self.connections.get(name)
        if connection is None:
            return None
        return self.canonical_connection(connection)

    def canonical_connection(self, connection: Connection) -> Body:
        """A connection's canonical body."""
        parameters = {
            p.name: fingerprint(p.value) if self.is_secret(p.name, p.encrypted) else p.value
            for p in connection.parameters
        }
        return {"name": connection.name, "app": connection.app, "parameters": parameters}

    def read_task(self, name: str) -> Body | None:
        """A task's canonical body: the task, its run configuration and its schedule (cached)."""
        with self._lock:
            if name in self._task_bodies:
                return copy_body(self._task_bodies[name])
        summary = self.tasks.get(name)
        if summary is None:
            return None
        task = self.client.tasks.get(summary.executable)
        run_config = self.client.tasks.get_run_config(summary.executable)
        body = self.canonical_task(task, run_config)
        with self._lock:
            self._task_bodies[name] = body
        return copy_body(body)

    def canonical_task(self, task: Task, run_config: TaskRunConfig | None) -> Body:
        """A task's canonical body, from its ``GET`` answers (its schedule from the list)."""
        schedule = self.schedules.get(task.id)
        return self.canonical_task_body(
            task, run_config, (schedule.description or schedule.id) if schedule else None
        )

    def canonical_task_body(
        self, task: Task, run_config: TaskRunConfig | None, schedule: str | None
    ) -> Body:
        """A task's canonical body from a task, its run configuration and its schedule's name.

        Writers build it from their write answers, which are the server's view after the write.
        """
        connections = None
        if task.connections is not None:
            connections = {
                app: self.connection_name(cid) or f"id:{cid}"
                for app, cid in task.connections.items()
            }
        parameters = None
        if task.parameters is not None:
            parameters = {
                k: fingerprint(v) if self.is_secret(k) else v for k, v in task.parameters.items()
            }
        return {
            "name": task.name,
            "description": task.description,
            "artifact": {
                "name": self.artifact_name(task.artifact.id) or task.artifact.name,
                "version": task.artifact.version,
            },
            "parameters": parameters,
            "connections": connections,
            "resources": task.resources,
            "tags": task.tags,
            "autoUpgradeInfo": task.auto_upgrade_info.to_wire() if task.auto_upgrade_info else None,
            "runConfig": run_config.to_wire() if run_config else None,
            "schedule": schedule,
        }

    def read_plan(self, name: str) -> Body | None:
        """A plan's canonical body: its steps, naming their tasks."""
        plan = self.plans.get(name)
        if plan is None:
            return None
        steps = []
        step = plan.chart
        while step is not None:
            task_ids = step.task_ids or [f.id for f in step.flows or [] if f.id]
            steps.append(
                {
                    "name": step.name,
                    "tasks": [self.task_name(tid) or f"id:{tid}" for tid in task_ids],
                }
            )
            step = step.next_step
        return {"name": plan.name, "steps": steps}

    # ------------------------------------------------------------------ cache upkeep after writes

    def remember_task(self, task: Task) -> None:
        """Add a task just created to the cached list, so that the next write need not list again."""
        with self._lock:
            tasks = self.__dict__.get("tasks")
            if tasks is not None:
                tasks[task.name] = TaskSummary(
                    executable=task.id,
                    name=task.name,
                    workspace=task.workspace,
                    artifact_id=task.artifact.id,
                )
            self._task_bodies.pop(task.name, None)

    def invalidate_task(self, name: str) -> None:
        """Forget one task's cached body (after writing it)."""
        with self._lock:
            self._task_bodies.pop(name, None)

    def forget(self, *kinds: str) -> None:
        """Drop cached lists so that the next read lists again (after writes by someone else)."""
        with self._lock:
            for kind in kinds:
                attribute = {WORKSPACE: "workspace", "schedule": "schedules", **LIST_OF_KIND}[kind]
                self.__dict__.pop(attribute, None)
                if kind == TASK:
                    self.__dict__.pop("schedules", None)
                    self._task_bodies.clear()
