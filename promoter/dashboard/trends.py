"""Trends where people would rather look than read: promotions per week by outcome, the
rollback rate, lead time from the source to the last phase per release, and each smoke-tested
task's execution duration and rejected rows across releases.

Everything comes from the ledger (runs, releases, the ``checks`` documents and the verify
stage's progress events). The geometry of each chart is computed here from numbers; the template
draws it as inline SVG — no library, no script, nothing fetched — with a title, a description
and the same numbers as a table, for people who do not see the picture.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from promoter.engine.status import verified
from promoter.model import RunStatus
from promoter.release import format_duration

if TYPE_CHECKING:
    from promoter.dashboard.data import Dashboard

OUTCOMES: dict[RunStatus, str] = {
    RunStatus.PROMOTED: "promoted",
    RunStatus.ROLLED_BACK: "rolled-back",
    RunStatus.ROLLBACK_INCOMPLETE: "failed",
    RunStatus.FAILED: "failed",
    RunStatus.INTERRUPTED: "failed",
    RunStatus.BLOCKED: "blocked",
}
"""A finished promotion's outcome, as the weekly chart groups them."""
SERIES = ("promoted", "rolled-back", "failed", "blocked")

WEEKS_SHOWN = 26
"""The weekly charts cover at most the last half year with runs."""
POINTS_PER_TASK = 30
"""A task's charts show its latest smoke executions, at most this many."""

WIDTH = 720
"""Every chart's width in SVG units (it scales to the page)."""


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def week_of(moment: datetime) -> str:
    """``2026-W49``: the ISO week of a moment (UTC)."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if value <= m * power))


def scale(highest: float, *, whole: bool = False) -> tuple[float, float]:
    """``(top, step)`` of an axis from 0 showing ``highest``: four or so nice steps (whole
    numbers when counting things)."""
    step = nice_step(highest / 4) if highest > 0 else 1.0
    if whole:
        step = max(1.0, math.ceil(step))
    return step * max(1, math.ceil(highest / step)), step


CLASSES = {
    "promoted": "s-good",
    "passed": "s-good",
    "lead-time": "s-good",
    "rolled-back": "s-bad",
    "check failed": "s-bad",
    "failed": "s-other",
    "blocked": "s-warn",
}
"""Series -> the CSS class of its colour (anything else is grey)."""


def number(value: float | None, unit: str = "") -> str:
    """``12``, ``2.5``, ``40%``; ``-`` for nothing."""
    if value is None:
        return "-"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{text}{unit if unit == '%' else ''}"


def columns(
    chart_id: str,
    title: str,
    description: str,
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    unit: str = "",
    top: float | None = None,
) -> dict[str, Any]:
    """A column chart, stacked when there are several series: the geometry, the legend, and the
    numbers as a table."""
    height, left, right, plot_top, plot_bottom = 230, 48, 12, 14, 200
    slot = (WIDTH - left - right) / max(1, len(labels))
    totals = [sum(v or 0 for v in values) for values in zip(*series.values(), strict=True)]
    scale_top, step = (top, top / 4) if top else scale(max(totals, default=0), whole=unit == "runs")
    width = min(slot * 0.6, 56.0)
    bars = []
    for index, label in enumerate(labels):
        base = 0.0
        for name, values in series.items():
            value = values[index]
            if not value:
                continue
            y0 = plot_bottom - (plot_bottom - plot_top) * base / scale_top
            base += value
            y1 = plot_bottom - (plot_bottom - plot_top) * base / scale_top
            bars.append(
                {
                    "x": round(left + slot * (index + 0.5) - width / 2, 1),
                    "y": round(y1, 1),
                    "w": round(width, 1),
                    "h": round(y0 - y1, 1),
                    "cls": CLASSES.get(name, "s-none"),
                    "text": f"{label}: {number(value, unit)} {name}".strip(),
                }
            )
    steps = round(scale_top / step)
    ticks = [
        {
            "y": round(plot_bottom - (plot_bottom - plot_top) * i / steps, 1),
            "text_y": round(plot_bottom - (plot_bottom - plot_top) * i / steps + 4, 1),
            "text": number(step * i, unit),
        }
        for i in range(steps + 1)
    ]
    rotate = len(labels) > 8
    x_labels = [
        {"x": round(left + slot * (i + 0.5), 1), "y": plot_bottom + 16, "text": label}
        for i, label in enumerate(labels)
    ]
    rows = [
        [label, *(number(values[i], unit) for values in series.values())]
        for i, label in enumerate(labels)
    ]
    return {
        "id": chart_id,
        "kind": "columns",
        "title": title,
        "description": description,
        "width": WIDTH,
        "height": height + (40 if rotate else 0),
        "left": left,
        "tick_x": left - 6,
        "right": WIDTH - right,
        "plot_top": plot_top,
        "plot_bottom": plot_bottom,
        "bars": bars,
        "ticks": ticks,
        "labels": x_labels,
        "rotate": rotate,
        "legend": [(name, CLASSES.get(name, "s-none")) for name in series] if len(series) > 1 else [],
        "table": {"columns": ["", *series], "rows": rows},
        "empty": not bars,
    }


def bars(
    chart_id: str,
    title: str,
    description: str,
    rows: list[tuple[str, float | None, str]],
    *,
    unit: str,
    shown: Any = number,
) -> dict[str, Any]:
    """A horizontal bar chart, one ``(label, value, series)`` row a bar (labels on the left)."""
    label_width, row_height, top_gap = 300, 24, 8
    right = WIDTH - 70
    scale_top, _ = scale(max((v for _, v, _ in rows if v is not None), default=0))
    drawn = []
    for index, (label, value, series) in enumerate(rows):
        y = top_gap + index * row_height
        w = 0.0 if value is None else (right - label_width) * value / scale_top
        drawn.append(
            {
                "label": label,
                "label_x": label_width - 8,
                "label_y": round(y + row_height * 0.65, 1),
                "x": label_width,
                "y": y + 4,
                "w": round(max(w, 1.0 if value else 0.0), 1),
                "h": row_height - 8,
                "cls": CLASSES.get(series, "s-none"),
                "value": shown(value) if value is not None else "-",
                "value_x": round(label_width + w + 6, 1),
            }
        )
    return {
        "id": chart_id,
        "kind": "bars",
        "title": title,
        "description": description,
        "width": WIDTH,
        "height": top_gap * 2 + row_height * len(rows),
        "label_width": label_width,
        "rows": drawn,
        "legend": [
            (name, CLASSES.get(name, "s-none"))
            for name in sorted({series for _, value, series in rows if value is not None})
        ],
        "table": {
            "columns": ["", unit],
            "rows": [[label, shown(value) if value is not None else "-"] for label, value, _ in rows],
        },
        "empty": all(v is None for _, v, _ in rows),
    }


def _weeks(moments: list[datetime]) -> list[str]:
    """Every ISO week from the first moment's to the last's (at most the last WEEKS_SHOWN)."""
    if not moments:
        return []
    last = max(moments)
    first = max(min(moments), last - timedelta(weeks=WEEKS_SHOWN - 1))
    monday = (first - timedelta(days=first.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    weeks = []
    while monday <= last:
        weeks.append(week_of(monday))
        monday += timedelta(days=7)
    return weeks


def trends(dashboard: Dashboard) -> dict[str, Any]:
    """Every chart of the trends page, and the numbers they are drawn from."""
    from promoter.dashboard.runs import smoke_durations

    runs = [r for r in dashboard.runs() if not r.dry_run and r.status in OUTCOMES]
    weeks = _weeks([_moment(r.created_at) for r in runs])
    counts: dict[str, dict[str, float]] = {name: defaultdict(float) for name in SERIES}
    for record in runs:
        counts[OUTCOMES[record.status]][week_of(_moment(record.created_at))] += 1
    per_week = columns(
        "promotions-per-week",
        "Promotions per week, by outcome",
        "Finished promotion runs per ISO week: promoted, rolled back, failed, blocked by a gate.",
        weeks,
        {name: [counts[name].get(w, 0.0) for w in weeks] for name in SERIES},
        unit="runs",
    )
    rates: list[float | None] = []
    for week in weeks:
        applied = counts["promoted"].get(week, 0) + counts["rolled-back"].get(week, 0)
        rates.append(round(100 * counts["rolled-back"].get(week, 0) / applied, 1) if applied else None)
    applied_total = sum(counts["promoted"].values()) + sum(counts["rolled-back"].values())
    overall = (
        round(100 * sum(counts["rolled-back"].values()) / applied_total, 1) if applied_total else None
    )
    rollback_rate = columns(
        "rollback-rate",
        "Rollback rate per week",
        "Of the promotions that wrote to a target each week, the share rolled back "
        "(verification failed); weeks without one show no column.",
        weeks,
        {"rolled-back": rates},
        unit="%",
        top=100.0,
    )
    return {
        "runs": len(runs),
        "per_week": per_week,
        "rollback_rate": rollback_rate,
        "rollback_overall": number(overall, "%") if overall is not None else None,
        "lead_times": _lead_times(dashboard),
        "tasks": _tasks(dashboard, runs, smoke_durations),
    }


def _lead_times(dashboard: Dashboard) -> dict[str, Any]:
    """Per release: from when it was made to its first verified promotion to the last phase."""
    rows: list[tuple[str, float | None, str]] = []
    for release in reversed(dashboard.releases()):  # oldest first
        source = dashboard.source_named(release.pipeline)
        if source is None or not source.phases:
            continue
        last = source.target_key(source.phases[-1])
        reached = [
            _moment(r.updated_at or r.created_at)
            for r in dashboard.ledger.runs_of_release(release=release.id, limit=dashboard.history)
            if r.target == last and verified(r)
        ]
        hours = (
            round((min(reached) - release.created_at).total_seconds() / 3600, 3) if reached else None
        )
        rows.append((release.id, hours, "lead-time" if reached else "none"))
    phases = {f"{s.loaded.pipeline.source.environment} → {s.phases[-1]}" for s in dashboard.sources if s.phases}
    path = ", ".join(sorted(phases)) or "source → last phase"
    chart = bars(
        "lead-time",
        f"Lead time per release ({path})",
        "Time from making each release to its first verified promotion to the last lifecycle "
        "phase; releases that have not reached it show no bar.",
        rows[-POINTS_PER_TASK:],
        unit="lead time",
        shown=lambda hours: format_duration(timedelta(hours=hours)),
    )
    chart["waiting"] = [label for label, value, _ in rows if value is None]
    return chart


def _tasks(dashboard: Dashboard, runs: list[Any], durations_of: Any) -> list[dict[str, Any]]:
    """Per smoke-tested task: its executions' duration and rejected rows, oldest first."""
    points: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in reversed(runs):  # oldest first
        checks = dashboard.document_list(record.id)["checks"]
        if not checks:
            continue
        durations = durations_of(dashboard.ledger, record.id)
        for check in checks:
            details = check.get("details") or {}
            task = details.get("task")
            if not task:
                continue
            duration = details.get("duration", durations.get(task))
            points[task].append(
                {
                    "label": f"{record.release or record.id} → {record.target.split('/', 1)[0]}",
                    "duration": float(duration) if isinstance(duration, int | float) else None,
                    "rejected": details.get("rejectedRows"),
                    "series": "passed" if check.get("passed") else "check failed",
                }
            )
    tasks = []
    for index, (task, found) in enumerate(sorted(points.items())):
        shown = found[-POINTS_PER_TASK:]
        tasks.append(
            {
                "task": task,
                "duration": bars(
                    f"duration-{index}",
                    f"Smoke execution duration of {task}",
                    f"Seconds each smoke execution of {task} took, per release and phase "
                    "(oldest first); executions whose check failed in red.",
                    [(p["label"], p["duration"], p["series"]) for p in shown],
                    unit="seconds",
                    shown=lambda s: f"{s:.1f} s",
                ),
                "rejected": bars(
                    f"rejected-{index}",
                    f"Rejected rows of {task}",
                    f"Rows each smoke execution of {task} rejected, per release and phase "
                    "(oldest first).",
                    [
                        (p["label"], float(p["rejected"]) if p["rejected"] is not None else None, p["series"])
                        for p in shown
                    ],
                    unit="rejected rows",
                ),
            }
        )
    return tasks
