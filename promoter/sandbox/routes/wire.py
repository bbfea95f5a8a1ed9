"""What every route module shares: the sandbox behind a request, answers in the wire format,
and pages with their ``limit`` and ``offset`` query parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from promoter.sandbox.codec import dumps
from promoter.talend import models as m

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")]
Offset = Annotated[int, Query(ge=0, description="Index of the first item.")]


def sandbox_of(request: Request) -> Any:
    """The :class:`~promoter.sandbox.app.SandboxState` serving ``request``."""
    return request.app.state.sandbox


def wire(body: m.WireModel | Sequence[m.WireModel] | dict[str, Any] | list[Any], status: int = 200) -> Response:
    """A JSON answer in the wire format."""
    if isinstance(body, m.WireModel):
        content: Any = body.to_wire()
    elif isinstance(body, list | tuple) and body and isinstance(body[0], m.WireModel):
        content = [item.to_wire() for item in body]
    else:
        content = body
    return Response(dumps(content), status_code=status, media_type="application/json")


def no_content() -> Response:
    """204."""
    return Response(status_code=204)


def page(
    items: Sequence[Any], limit: int, offset: int, render: Callable[[Any], m.WireModel] | None = None
) -> dict[str, Any]:
    """``{items, limit, offset, total}`` of one page of ``items``; only that page is rendered."""
    chunk = [render(i) if render else i for i in items[offset : offset + limit]]
    return {
        "items": [i.to_wire() if isinstance(i, m.WireModel) else i for i in chunk],
        "limit": limit,
        "offset": offset,
        "total": len(items),
    }
