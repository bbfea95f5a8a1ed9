"""The estate's stored rows: ids, Talend's date format, and which keys of a body are served.

Bodies are kept in the store in the wire format; keys starting with ``_`` are sandbox-only data
(:data:`BEHAVIOUR_KEY`, for example) and are never served.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from promoter.sandbox.store import Row, Store

# Sandbox-only keys of stored bodies start with "_" and are never served.
BEHAVIOUR_KEY = "_behaviour"


def new_id() -> str:
    """A fresh 24-hex orchestration id."""
    return secrets.token_hex(12)


def stable_id(*parts: str) -> str:
    """A 24-hex id derived from names, so that seeded estates are reproducible."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:24]


def utcnow() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 with milliseconds and a Z, as Talend writes dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def public(body: Row) -> Row:
    """A stored body without its sandbox-only keys."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


def served(body: Row) -> Row:
    """A stored task, plan or connection as served: the flat ``workspaceId`` it is stored with is
    not part of Talend's schemas (``TaskV21``, ``Plan``, ``ConnectionDetails``), which embed the
    workspace instead."""
    return {k: v for k, v in public(body).items() if k != "workspaceId"}


def version_key(artifact_id: str, version: str) -> str:
    """The store id of an artifact version."""
    return f"{artifact_id}/{version}"


def delete_task_rows(store: Store, task_id: str) -> None:
    """Delete a task with the rows kept under its id: its run-config and its schedule binding."""
    store.delete("task", task_id)
    store.delete("run_config", task_id)
    store.delete("task_schedule", task_id)
