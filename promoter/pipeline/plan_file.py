"""Plan files: a plan saved for review (``promoter plan FILE --out plan.json``) and applied exactly
as reviewed (``promoter promote FILE --plan plan.json``).

A plan file holds the :class:`~promoter.model.Plan` — every change with the target's bodies before
and after — together with what it was computed from: the pipeline file's sha256, its ``--var``
values and the target. Applying it skips export, map and plan, and is refused (exit 2, nothing
written) when the pipeline file changed since, when it names another target, or — at the
snapshot, which compares the target afresh with each change's ``before`` — when the target
changed since the plan was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promoter.errors import ConfigurationError, RunStateError
from promoter.model import Plan, TargetRef, utcnow
from promoter.pipeline import LoadedPipeline

PLAN_FILE_FORMAT = "promoter-plan/1"


class SavedPlan(BaseModel):
    """The content of a plan file."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["promoter-plan/1"] = "promoter-plan/1"
    pipeline: str
    """The pipeline's name."""
    pipeline_file: str
    """The pipeline file as given to ``promoter plan``."""
    pipeline_sha256: str
    """The sha256 of the pipeline file as written; applying the plan requires the same file."""
    variables: dict[str, str] = Field(default_factory=dict)
    """The ``--var`` values the pipeline was rendered with (applying renders it with them)."""
    target: TargetRef
    run_id: str
    """The ``promoter plan`` run that made the plan (``promoter show RUN``)."""
    created_at: datetime = Field(default_factory=utcnow)
    plan: Plan


def save_plan(
    path: Path, loaded: LoadedPipeline, plan: Plan, *, run_id: str, variables: Mapping[str, str]
) -> SavedPlan:
    """Write ``plan`` (made from ``loaded``) to ``path`` as a plan file; return what was written."""
    saved = SavedPlan(
        pipeline=loaded.pipeline.name,
        pipeline_file=loaded.display,
        pipeline_sha256=loaded.sha256,
        variables=dict(variables),
        target=plan.target,
        run_id=run_id,
        plan=plan,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(saved.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return saved


def load_plan(path: Path) -> SavedPlan:
    """Read a plan file; :class:`ConfigurationError` (exit 2) when it is missing or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the plan file {path}: {exc.strerror or exc}",
            hint="write one with `promoter plan FILE --out plan.json`",
        ) from None
    try:
        return SavedPlan.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigurationError(
            f"{path} is not a promoter plan file ({where}: {first['msg']})",
            hint="write one with `promoter plan FILE --out plan.json`",
        ) from None


def check_plan(saved: SavedPlan, loaded: LoadedPipeline, target: TargetRef, path: Path) -> None:
    """Refuse (exit 2) a plan made from another pipeline file or for another target."""
    if saved.pipeline_sha256 != loaded.sha256:
        raise RunStateError(
            f"the pipeline file {loaded.display} changed since the plan {path} was made "
            f"(sha256 {saved.pipeline_sha256[:12]} then, {loaded.sha256[:12]} now)",
            hint=f"plan again: `promoter plan {loaded.display} --target {target.environment} "
            f"--out {path}`, review it, then promote with --plan",
        )
    if saved.target != target or saved.plan.target != target:
        raise RunStateError(
            f"the plan {path} is for {saved.plan.target}, not {target}",
            hint=f"pass --target {saved.plan.target.environment}, or plan for {target}",
        )
