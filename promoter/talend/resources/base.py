"""What every resource group shares: parsing answers, paging, look-ups that recognise a create's outcome, and polls that outlast a busy API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pydantic

from promoter.talend.errors import TalendAPIError, TalendError
from promoter.talend.models import ConnectionParameter, ExecutionPlanSummary, Page
from promoter.talend.paging import Paginator
from promoter.talend.retries import is_retryable
from promoter.talend.transport import Transport, logger, validated

M = TypeVar("M", bound=pydantic.BaseModel)
R = TypeVar("R")

#: Seconds of clock difference tolerated when matching an execution to the start that made it.
START_TIME_TOLERANCE = 2.0

#: The longest pause between runs of a promotion refused because its environment pair is busy.
BUSY_PAIR_MAX_PAUSE = 15.0


def one(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser of an answer holding one ``model``."""
    return lambda response: validated(model.model_validate_json, model.model_validate, response)


def many(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    """A parser of an answer holding a bare JSON array of ``model``."""
    adapter = pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> list[M]:
        items: list[M] = validated(adapter.validate_json, adapter.validate_python, response)
        return items

    return parse


def page_of(model: type[M]) -> Callable[[httpx.Response], Page[M]]:
    """A parser of one page of ``model`` items."""
    page_model = Page[model]  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> Page[M]:
        page: Page[M] = validated(
            page_model.model_validate_json, page_model.model_validate, response
        )
        return page

    return parse


def nothing(response: httpx.Response) -> None:
    """The parser of an answer without a body (204)."""
    return None


def fiql(**terms: str | None) -> str | None:
    """A FIQL ``query`` ANDing ``field==value`` terms (``environment__name`` → ``environment.name``).

    Terms whose value is ``None`` are left out; ``None`` when none remain. Values cannot contain
    ``;`` or ``,`` (FIQL's operators).
    """
    parts = []
    for field, value in terms.items():
        if value is None:
            continue
        if ";" in value or "," in value:
            raise ValueError(f"cannot search for {value!r}: FIQL values cannot contain ';' or ','")
        parts.append(f"{field.replace('__', '.')}=={value}")
    return ";".join(parts) or None


def matching(found: R | None, holds_what_was_sent: Callable[[R], bool]) -> R | None:
    """``found`` if it holds what a create sent: then it is the create's outcome, else ``None``."""
    if found is None:
        return None
    if holds_what_was_sent(found):
        return found
    logger.info("an object of that name exists but differs from what was sent; it is not this create's")
    return None


def visible_parameters(parameters: Iterable[ConnectionParameter]) -> dict[str, str | None]:
    """Connection parameters that can be compared: Talend may hide encrypted values."""
    return {p.name: p.value for p in parameters if not p.encrypted}


def plan_task_ids(plan: ExecutionPlanSummary) -> set[str]:
    """Every task id in a plan's chart."""
    ids: set[str] = set()
    pending = [plan.chart] if plan.chart else []
    while pending:
        step = pending.pop()
        ids.update(step.task_ids or [])
        ids.update(flow.id for flow in step.flows or [] if flow.id)
        pending.extend(s for s in (step.next_step, step.step_on_exception) if s is not None)
    return ids


def poll_failure(what: str, exc: TalendError, poll_interval: float) -> float:
    """How long to pause after a poll of ``what`` failed transiently; re-raises otherwise.

    A poll is a read: a 429 or a transient failure (5xx, no answer) that outlasted the call's own
    retries says nothing about what is polled, so the wait goes on until its own timeout.
    """
    if not is_retryable(exc):
        raise exc
    pause = poll_interval
    if isinstance(exc, TalendAPIError) and exc.retry_after is not None:
        pause = max(pause, exc.retry_after)
    logger.info("polling %s failed (%s); polling again in %.1fs", what, exc.message, pause)
    return pause


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone (Talend's without one are UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Resource:
    """A resource group: its calls go through the client's one :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._t.base_url}>"


def paginator(
    transport: Transport,
    template: str,
    params: dict[str, Any],
    model: type[M],
    limit: int,
    path_params: dict[str, str] | None = None,
) -> Paginator[M]:
    """The items of a paged list (``limit``/``offset``), fetched page by page as they are read."""
    parse = page_of(model)

    def fetch(offset: int, page_limit: int) -> Page[M]:
        return transport.call(
            "GET",
            template,
            path_params=path_params,
            params={**params, "offset": offset, "limit": page_limit},
            parse=parse,
        )

    return Paginator(fetch, limit=limit)
