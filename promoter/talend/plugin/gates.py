"""The Talend gate that reads task versions: no downgrade.

Built-in plugin ``release-gates``. It runs on every promotion that has something to write (also
one applying a reviewed plan file), and the engine records its decision in the ledger.

**No downgrade** (``gates.no_downgrade``, on by default): a task that would run an older version
of its artifact than it runs on the target now blocks the promotion, unless ``--allow-downgrade``
is passed. Talend versions look like ``0.3.0.20261031080000``: the dotted numbers compare first,
then the publication timestamp (see :func:`compare_versions`).
"""

from __future__ import annotations

import re

import click

from promoter import ChangeAction, GateDecision, Plan, RunContext, hookimpl

ALLOW_DOWNGRADE = "allow_downgrade"

_SEPARATORS = re.compile(r"[.\-_+]")
_TIMESTAMP_DIGITS = 12
"""A last dotted part of at least this many digits is a publication timestamp, not a number."""


# --- versions -------------------------------------------------------------------------------------


def _version_key(version: str) -> tuple[list[tuple[int, int, str]], int]:
    parts = [p for p in _SEPARATORS.split(version.strip()) if p]
    timestamp = 0
    if len(parts) > 1 and parts[-1].isdecimal() and len(parts[-1]) >= _TIMESTAMP_DIGITS:
        timestamp = int(parts.pop())
    # A qualifier (SNAPSHOT, rc1) ranks below the release it qualifies: 1.0.0-rc1 < 1.0.0.
    release = [(0, int(p), "") if p.isdecimal() else (-1, 0, p) for p in parts]
    return release, timestamp


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Talend version ``a`` is older than, the same as, or newer than ``b``.

    The dotted numeric prefix compares first, number by number (``0.10.0`` is newer than
    ``0.9.0``; missing numbers count as 0), then the timestamp Talend appends when it publishes
    (``0.3.0.20261031080000``). A non-numeric part (``1.0.0-SNAPSHOT``) ranks below the plain
    release.
    """
    release_a, stamp_a = _version_key(a)
    release_b, stamp_b = _version_key(b)
    width = max(len(release_a), len(release_b))
    padding = (0, 0, "")
    key_a = (release_a + [padding] * (width - len(release_a)), stamp_a)
    key_b = (release_b + [padding] * (width - len(release_b)), stamp_b)
    return (key_a > key_b) - (key_a < key_b)


def downgrades(plan: Plan) -> list[tuple[str, str, str, str]]:
    """``(task, artifact, version now, version planned)`` for each task the plan moves back."""
    found = []
    for change in plan.changes:
        if change.kind != "task" or change.action is not ChangeAction.UPDATE:
            continue
        before = (change.before or {}).get("artifact") or {}
        after = (change.after or {}).get("artifact") or {}
        old, new = before.get("version"), after.get("version")
        if not (isinstance(old, str) and isinstance(new, str)):
            continue
        if before.get("name") != after.get("name"):
            continue  # another artifact: versions do not compare
        if compare_versions(new, old) < 0:
            found.append((change.key, str(after.get("name")), old, new))
    return found


def no_downgrade(run: RunContext, plan: Plan) -> GateDecision | None:
    """Refuse to move a task to an older artifact version, unless ``--allow-downgrade``."""
    if not run.pipeline.gates.no_downgrade:
        return None
    found = downgrades(plan)
    if not found:
        return GateDecision(
            gate="no-downgrade", allowed=True, reason="no task moves to an older version"
        )
    listed = "; ".join(f"{task!r}: {name} {old} -> {new}" for task, name, old, new in found)
    if run.options.extra.get(ALLOW_DOWNGRADE):
        return GateDecision(
            gate="no-downgrade",
            allowed=True,
            reason=f"downgrade allowed by --allow-downgrade ({run.user}): {listed}",
        )
    return GateDecision(
        gate="no-downgrade",
        allowed=False,
        reason=f"{len(found)} task(s) would run an older version: {listed}",
        hint="pass --allow-downgrade if this is intended (e.g. reverting a release)",
    )


# --- hooks ----------------------------------------------------------------------------------------


@hookimpl(trylast=True)
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    """``--allow-downgrade`` for ``promoter promote``."""
    if command != "promote":
        return None
    return [
        click.Option(
            ["--allow-downgrade", ALLOW_DOWNGRADE],
            is_flag=True,
            help="Allow tasks to move to an older artifact version (recorded).",
        )
    ]


@hookimpl(trylast=True)
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision]:
    """The no-downgrade gate's decision."""
    decision = no_downgrade(run, plan)
    return [decision] if decision is not None else []
