"""promoter-notify: webhook notifications (Slack- and Teams-compatible JSON) about promotions.

Configured by the pipeline's ``notify:`` section; without it the plugin does nothing::

    notify:
      webhooks:
        - url: ${env:SLACK_WEBHOOK_URL}        # a secret reference, or a plain URL
          format: slack                        # slack | teams
          events: [start, finish, failure, rollback]   # default: all four
        - url: ${env:TEAMS_WEBHOOK_URL}
          format: teams
          events: [failure, rollback]
          template_file: notify/teams.md.j2    # relative to the pipeline file
      retries: 3                               # after the first attempt (429, 5xx, network errors)

Events: ``start`` when a run starts; when it ends, exactly one of ``rollback`` (rolled back, or
the rollback was incomplete), ``failure`` (failed, blocked, interrupted) or ``finish`` (promoted,
nothing to do). Dry runs (``promoter plan``, ``--dry-run``) are not announced.

Messages are Jinja2 templates (the defaults are in :data:`DEFAULT_TEMPLATES`); a ``template`` or
``template_file`` replaces them for one webhook. A template written inline in the pipeline file
must be wrapped in ``{% raw %}...{% endraw %}``, because the pipeline file itself is a Jinja2
template. Every secret the pipeline names is masked (``***``) in the message.

A notification that cannot be delivered never changes the run's outcome: the plugin retries, then
prints a warning on standard error.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any, Literal

import click
import httpx
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from promoter import RunContext, RunOutcome, RunStatus, SecretRef, hookimpl

__version__ = "0.1.0"

Event = Literal["start", "finish", "failure", "rollback"]
EVENTS: tuple[Event, ...] = ("start", "finish", "failure", "rollback")

DEFAULT_TEMPLATES: dict[Event, str] = {
    "start": (
        "{{ user }} is promoting {{ pipeline }} from {{ source }} to {{ target }}"
        "{% if reason %} ({{ reason }}){% endif %} - run {{ run_id }}"
    ),
    "finish": "{{ pipeline }} to {{ target }}: {{ status }} - {{ message }} - run {{ run_id }}",
    "failure": (
        "{{ pipeline }} to {{ target }} FAILED ({{ status }}, exit {{ exit_code }}): "
        "{{ message }} - run {{ run_id }}"
    ),
    "rollback": (
        "{{ pipeline }} to {{ target }} ROLLED BACK ({{ status }}): {{ message }} - run {{ run_id }}"
    ),
}
"""The message of each event; templates see the names listed in :func:`message_context`."""

COLOURS: dict[Event, str] = {
    "start": "2F80ED",
    "finish": "27AE60",
    "failure": "EB5757",
    "rollback": "F2994A",
}
"""Teams cards' theme colour per event."""


class Webhook(BaseModel):
    """One webhook: where to POST, in which format, for which events, with which message."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    url: SecretRef | str = Field(description="The webhook URL, or a secret reference to it.")
    format: Literal["slack", "teams"] = "slack"
    events: list[Event] = Field(default_factory=lambda: list(EVENTS), min_length=1)
    template: str | None = Field(
        default=None, description="A Jinja2 message template (wrap it in {% raw %} in a pipeline)."
    )
    template_file: str | None = Field(
        default=None, description="A Jinja2 message template file, relative to the pipeline file."
    )


class NotifySection(BaseModel):
    """The ``notify:`` pipeline section."""

    model_config = ConfigDict(extra="forbid")

    webhooks: list[Webhook] = Field(min_length=1)
    timeout: float = Field(default=10.0, gt=0, description="Seconds per request.")
    retries: int = Field(default=3, ge=0, le=10, description="Attempts after the first one.")
    backoff: float = Field(
        default=0.5, ge=0, description="First wait between attempts, in seconds (doubles)."
    )


class DeliveryError(Exception):
    """A webhook did not accept a notification (after the retries)."""


def event_of(outcome: RunOutcome) -> Event:
    """The event that announces a run's end."""
    if outcome.status in (RunStatus.ROLLED_BACK, RunStatus.ROLLBACK_INCOMPLETE):
        return "rollback"
    if outcome.status in (RunStatus.PROMOTED, RunStatus.NOTHING_TO_DO, RunStatus.PLANNED):
        return "finish"
    return "failure"


def message_context(run: RunContext, event: Event, outcome: RunOutcome | None) -> dict[str, Any]:
    """What a message template sees.

    ``event``, ``pipeline``, ``kind``, ``source``, ``target``, ``run_id``, ``user``, ``reason``,
    ``command``; once the run ended also ``status``, ``exit_code``, ``message``, ``plan_summary``
    (``{create: 2, update: 1, ...}``), ``gates`` and ``checks`` (lists of dicts), and ``outcome``.
    """
    context: dict[str, Any] = {
        "event": event,
        "pipeline": run.pipeline.name,
        "kind": run.pipeline.kind,
        "source": str(run.source),
        "target": str(run.target),
        "run_id": run.run_id,
        "user": run.user,
        "reason": run.reason or "",
        "command": run.command,
        "status": "running",
        "exit_code": None,
        "message": "",
        "plan_summary": {},
        "gates": [],
        "checks": [],
        "outcome": None,
    }
    if outcome is not None:
        context.update(
            status=outcome.status.value,
            exit_code=outcome.exit_code,
            message=outcome.message,
            plan_summary=outcome.plan_summary or {},
            gates=[g.model_dump(mode="json") for g in outcome.gates],
            checks=[c.model_dump(mode="json") for c in outcome.checks],
            outcome=outcome,
        )
    return context


def render_message(template: str, context: dict[str, Any], redact: Callable[[str], str]) -> str:
    """Render a message template (``StrictUndefined``: a typo is an error), secrets masked.
    (Jinja2 is imported when a message is rendered, not with the plugin: most runs send none.)"""
    from promoter import render_template

    return redact(render_template(template, context).strip())


def payload(fmt: Literal["slack", "teams"], event: Event, title: str, text: str) -> dict[str, Any]:
    """The JSON body for a Slack incoming webhook or a Teams connector (MessageCard)."""
    if fmt == "slack":
        return {"text": text}
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "themeColor": COLOURS[event],
        "title": title,
        "text": text,
    }


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status in (408, 429) or status >= 500
    return isinstance(exc, httpx.TransportError)


def post(url: str, body: dict[str, Any], section: NotifySection) -> int:
    """POST ``body`` to ``url`` with retries; return the number of attempts it took."""
    retrying = Retrying(
        stop=stop_after_attempt(section.retries + 1),
        wait=wait_exponential(multiplier=section.backoff, max=30),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    attempts = 0
    with httpx.Client(timeout=section.timeout) as client:
        for attempt in retrying:
            with attempt:
                attempts += 1
                response = client.post(url, json=body)
                response.raise_for_status()
    return attempts


def describe_url(url: str) -> str:
    """A webhook URL without its path and query (which often hold the secret)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..." if parts.netloc else "(invalid URL)"


def _mask_pipeline_secrets(run: RunContext) -> None:
    # Resolving a secret makes run.secrets.redact() mask it, even before a stage has used it.
    for ref in run.loaded.secret_refs:
        try:
            run.secrets.resolve(ref)
        except Exception:  # unresolvable: the stage that needs it reports that
            continue


def notify(run: RunContext, event: Event, outcome: RunOutcome | None = None) -> None:
    """Send ``event`` to every webhook of the pipeline's ``notify:`` section that wants it."""
    section = run.section_as("notify", NotifySection)
    if section is None or run.dry_run:
        return
    _mask_pipeline_secrets(run)
    context = message_context(run, event, outcome)
    title = f"promoter: {run.pipeline.name} -> {run.target} ({event})"
    for index, hook in enumerate(section.webhooks, start=1):
        if event not in hook.events:
            continue
        where, url = f"webhook #{index} ({hook.format})", ""
        try:
            url = run.secrets.resolve(hook.url) if isinstance(hook.url, SecretRef) else hook.url
            where = f"webhook #{index} ({hook.format}, {describe_url(url)})"
            if hook.template_file:
                template = (run.pipeline_path.parent / hook.template_file).read_text("utf-8")
            else:
                template = hook.template or DEFAULT_TEMPLATES[event]
            text = render_message(template, context, run.secrets.redact)
            body = payload(hook.format, event, run.secrets.redact(title), text)
            post(url, body, section)
        except Exception as exc:
            # A notification must never change a promotion's outcome: warn and go on.
            detail = run.secrets.redact(f"{type(exc).__name__}: {exc}")
            if url:
                detail = detail.replace(url, describe_url(url))
            click.echo(
                f"notify: {where} did not take the {event!r} notification: {detail}; "
                "the promotion is not affected (check the URL, or notify.retries)",
                err=True,
            )


@hookimpl
def promoter_register_pipeline_sections(register: Callable[[str, type[BaseModel]], None]) -> None:
    """The ``notify:`` section."""
    register("notify", NotifySection)


@hookimpl
def promoter_run_started(run: RunContext) -> None:
    """Announce the run (event ``start``)."""
    notify(run, "start")


@hookimpl
def promoter_run_finished(run: RunContext, outcome: RunOutcome) -> None:
    """Announce how the run ended (``finish``, ``failure`` or ``rollback``)."""
    notify(run, event_of(outcome), outcome)


__all__ = [
    "DEFAULT_TEMPLATES",
    "EVENTS",
    "NotifySection",
    "Webhook",
    "event_of",
    "message_context",
    "payload",
    "post",
    "render_message",
]
