"""promoter-policy: promotion policies as code, checked as gates before anything is written.

Configured by the pipeline's ``policy:`` section; each rule is optional, and without the section
the plugin does nothing::

    policy:
      freeze:                               # a freeze calendar
        - name: weekend
          environments: [prod]              # default: every target
          weekdays: [sat, sun]
        - name: friday-afternoon
          weekdays: [fri]
          from: "15:00"                     # local time of `timezone`; "24:00" is midnight
          to: "24:00"
          timezone: Europe/Paris            # default UTC
        - name: year-end
          start: 2026-12-23                 # a date or a date-time; `end` is excluded
          end: 2027-01-04
          reason: year-end close
      max_tasks_changed: 10                 # blast radius: or per target {prod: 3, default: 20}
      naming:                               # regular expressions names must match (fully)
        task: '^[A-Z][A-Za-z0-9 ]+$'
        connection: '^[a-z][a-z0-9_]*$'
      required_tags: [finance]              # every task written carries them; or per target
      artifact_types:                       # per target environment: the artifact types allowed
        prod: [standard]

Each configured rule gives one gate decision, named ``policy:freeze``, ``policy:blast-radius``,
``policy:naming``, ``policy:required-tags`` and ``policy:artifact-types``; the engine records them
in the ledger. Naming, tags and artifact types are checked on the objects the plan writes
(created or updated), since objects left unchanged are not this promotion's doing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from promoter import Change, GateDecision, Plan, RunContext, hookimpl

__version__ = "0.1.0"

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_PATTERN = re.compile(r"^(?P<h>[01]?\d|2[0-4]):(?P<m>[0-5]\d)$")


def _minutes(text: str) -> int:
    """Minutes since midnight of ``HH:MM`` (``24:00`` is 1440)."""
    match = TIME_PATTERN.match(text.strip())
    if match is None or (int(match["h"]) == 24 and int(match["m"]) != 0):
        raise ValueError(f"{text!r} is not a time like '15:30' (00:00 to 24:00)")
    return int(match["h"]) * 60 + int(match["m"])


class FreezeRule(BaseModel):
    """A recurring or one-off window during which promotions (to some targets) are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    environments: list[str] | None = None
    weekdays: list[Weekday] | None = None
    from_time: str | None = Field(default=None, alias="from")
    to_time: str | None = Field(default=None, alias="to")
    start: datetime | date | None = None
    end: datetime | date | None = None
    timezone: str = "UTC"
    reason: str | None = None

    @field_validator("from_time", "to_time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            _minutes(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name like 'Europe/Paris'"
            ) from None
        return value

    @model_validator(mode="after")
    def _something(self) -> FreezeRule:
        if not (self.weekdays or self.from_time or self.to_time or self.start or self.end):
            raise ValueError("a freeze rule needs weekdays, from/to, or start/end")
        return self

    def _local(self, value: datetime | date) -> datetime:
        zone = ZoneInfo(self.timezone)
        if isinstance(value, datetime):
            return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
        return datetime.combine(value, time(), tzinfo=zone)

    def covers(self, moment: datetime, environment: str) -> bool:
        """Whether the rule freezes ``environment`` at ``moment`` (an aware date-time)."""
        if self.environments is not None and environment not in self.environments:
            return False
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.start is not None and local < self._local(self.start):
            return False
        if self.end is not None and local >= self._local(self.end):
            return False
        if self.weekdays and WEEKDAYS[local.weekday()] not in self.weekdays:
            return False
        if self.from_time or self.to_time:
            now = local.hour * 60 + local.minute
            begin = _minutes(self.from_time or "00:00")
            finish = _minutes(self.to_time or "24:00")
            inside = begin <= now < finish if begin <= finish else (now >= begin or now < finish)
            if not inside:
                return False
        return True

    def describe(self) -> str:
        """A short description: ``'weekend' (sat, sun; UTC)``."""
        parts = []
        if self.weekdays:
            parts.append(", ".join(self.weekdays))
        if self.from_time or self.to_time:
            parts.append(f"{self.from_time or '00:00'}-{self.to_time or '24:00'}")
        if self.start or self.end:
            parts.append(f"{self.start or '...'} to {self.end or '...'}")
        return f"{self.name!r} ({'; '.join([*parts, self.timezone])})"


class PolicySection(BaseModel):
    """The ``policy:`` pipeline section."""

    model_config = ConfigDict(extra="forbid")

    freeze: list[FreezeRule] = Field(default_factory=list)
    max_tasks_changed: int | dict[str, int] | None = Field(
        default=None,
        description="Most tasks a promotion may change: a number or {env: n, default: n}.",
    )
    naming: dict[str, str] = Field(
        default_factory=dict, description="Object kind (task, connection, plan) -> regex."
    )
    required_tags: list[str] | dict[str, list[str]] | None = None
    artifact_types: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("naming")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"naming.{kind}: invalid regular expression: {exc}") from None
        return value


def _for_target(value: int | dict[str, int] | None, environment: str) -> int | None:
    if isinstance(value, dict):
        return value.get(environment, value.get("default"))
    return value


def _written(plan: Plan, kind: str) -> list[Change]:
    """The plan's creates and updates of ``kind``."""
    return [c for c in plan.pending if c.kind == kind and c.after is not None]


def _listing(names: Iterable[str], limit: int = 5) -> str:
    items = sorted(names)
    shown = ", ".join(repr(n) for n in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def freeze_decision(
    run: RunContext, section: PolicySection, now: datetime | None = None
) -> GateDecision | None:
    """``policy:freeze``: refuse while a freeze rule covers the target."""
    if not section.freeze:
        return None
    moment = now or datetime.now(UTC)
    environment = run.target.environment
    for rule in section.freeze:
        if rule.covers(moment, environment):
            return GateDecision(
                gate="policy:freeze",
                allowed=False,
                reason=f"{environment} is frozen by {rule.describe()}"
                + (f": {rule.reason}" if rule.reason else ""),
                hint="promote outside the freeze, or change policy.freeze in the pipeline file",
            )
    return GateDecision(gate="policy:freeze", allowed=True, reason="no freeze rule is active")


def blast_radius_decision(
    run: RunContext, section: PolicySection, plan: Plan
) -> GateDecision | None:
    """``policy:blast-radius``: refuse a plan that changes more tasks than allowed."""
    limit = _for_target(section.max_tasks_changed, run.target.environment)
    if limit is None:
        return None
    changed = [c for c in plan.pending if c.kind == "task"]
    if len(changed) <= limit:
        return GateDecision(
            gate="policy:blast-radius",
            allowed=True,
            reason=f"{len(changed)} task(s) change, at most {limit} allowed",
        )
    return GateDecision(
        gate="policy:blast-radius",
        allowed=False,
        reason=(
            f"{len(changed)} tasks change ({_listing(c.key for c in changed)}), more than the "
            f"{limit} allowed for {run.target.environment}"
        ),
        hint="promote fewer tasks at a time (tasks: in the pipeline file), or raise "
        "policy.max_tasks_changed",
    )


def naming_decision(section: PolicySection, plan: Plan) -> GateDecision | None:
    """``policy:naming``: refuse objects whose names do not match their kind's pattern."""
    if not section.naming:
        return None
    bad: list[str] = []
    for kind, pattern in sorted(section.naming.items()):
        regex = re.compile(pattern)
        names = [c.key for c in _written(plan, kind) if not regex.fullmatch(c.key)]
        if names:
            bad.append(f"{kind} {_listing(names)} (must match {pattern})")
    if bad:
        return GateDecision(
            gate="policy:naming",
            allowed=False,
            reason="names break the naming rules: " + "; ".join(bad),
            hint="rename them in the source, or change policy.naming",
        )
    kinds = ", ".join(sorted(section.naming))
    return GateDecision(
        gate="policy:naming", allowed=True, reason=f"{kinds} names follow the rules"
    )


def tags_decision(run: RunContext, section: PolicySection, plan: Plan) -> GateDecision | None:
    """``policy:required-tags``: refuse tasks that lack a required tag."""
    required = section.required_tags
    if isinstance(required, dict):
        required = required.get(run.target.environment, required.get("default"))
    if not required:
        return None
    missing: list[str] = []
    for change in _written(plan, "task"):
        tags = set((change.after or {}).get("tags") or [])
        lacking = [t for t in required if t not in tags]
        if lacking:
            missing.append(f"{change.key!r} lacks {', '.join(lacking)}")
    if missing:
        return GateDecision(
            gate="policy:required-tags",
            allowed=False,
            reason="tasks without the required tags: " + "; ".join(missing),
            hint="tag the tasks in the source, or change policy.required_tags",
        )
    return GateDecision(
        gate="policy:required-tags",
        allowed=True,
        reason=f"every task written is tagged {', '.join(required)}",
    )


def artifact_types_decision(
    run: RunContext, section: PolicySection, plan: Plan
) -> GateDecision | None:
    """``policy:artifact-types``: refuse artifact types the target does not accept."""
    allowed = section.artifact_types.get(run.target.environment)
    if allowed is None:
        return None
    wrong = [
        f"{c.key} ({(c.after or {}).get('type')})"
        for c in _written(plan, "artifact_version")
        if (c.after or {}).get("type") not in allowed
    ]
    if wrong:
        return GateDecision(
            gate="policy:artifact-types",
            allowed=False,
            reason=(
                f"{run.target.environment} accepts only {', '.join(allowed)} artifacts, not "
                + ", ".join(wrong)
            ),
            hint="leave these artifacts out, or change policy.artifact_types",
        )
    return GateDecision(
        gate="policy:artifact-types",
        allowed=True,
        reason=f"every artifact is one of {', '.join(allowed)}",
    )


def decisions(run: RunContext, plan: Plan, now: datetime | None = None) -> list[GateDecision]:
    """Every configured policy's decision on the plan."""
    section = run.section_as("policy", PolicySection)
    if section is None:
        return []
    found = [
        freeze_decision(run, section, now),
        blast_radius_decision(run, section, plan),
        naming_decision(section, plan),
        tags_decision(run, section, plan),
        artifact_types_decision(run, section, plan),
    ]
    return [d for d in found if d is not None]


@hookimpl
def promoter_register_pipeline_sections(register: Callable[[str, type[BaseModel]], None]) -> None:
    """The ``policy:`` section."""
    register("policy", PolicySection)


@hookimpl
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision] | None:
    """The policies' decisions (none without a ``policy:`` section)."""
    return decisions(run, plan) or None


__all__ = [
    "FreezeRule",
    "PolicySection",
    "artifact_types_decision",
    "blast_radius_decision",
    "decisions",
    "freeze_decision",
    "naming_decision",
    "tags_decision",
]
