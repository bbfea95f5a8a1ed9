"""Paged lists: iterate over pages and over items, lazily.

Talend's paged lists answer ``{items, limit, offset, total}`` (``limit`` at most 100). A
:class:`Paginator` fetches one page at a time as it is iterated, so the first items are usable
before the last page is fetched, and a loop that stops early fetches no more. Every item comes from
the list answers themselves: nothing is fetched per item.

Execution logs page differently (``startIndex``/``nextIndex``); see
:meth:`promoter.talend.client.LogsAPI.pages`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from promoter.talend.models import Page

__all__ = ["MAX_PAGE_SIZE", "PageFetcher", "Paginator", "iter_items", "iter_pages"]

T = TypeVar("T")

#: The largest ``limit`` Talend accepts.
MAX_PAGE_SIZE = 100

#: Fetches the page at ``(offset, limit)``.
PageFetcher = Callable[[int, int], Page[T]]


def iter_pages(
    fetch: Callable[[int, int], Page[T]], *, limit: int = MAX_PAGE_SIZE, offset: int = 0
) -> Iterator[Page[T]]:
    """Every page from ``offset`` on, ``limit`` items at a time, until ``total`` is reached.

    Stops on an empty page too, so that a server that miscounts ``total`` cannot loop forever.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
    while True:
        page = fetch(offset, limit)
        yield page
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def iter_items(
    fetch: Callable[[int, int], Page[T]], *, limit: int = MAX_PAGE_SIZE, offset: int = 0
) -> Iterator[T]:
    """Every item of every page (see :func:`iter_pages`)."""
    for page in iter_pages(fetch, limit=limit, offset=offset):
        yield from page.items


class Paginator(Generic[T]):
    """A paged list, iterable over its items; pages are fetched as iteration reaches them.

    ``for task in client.tasks.list(workspace_id=w)`` walks every task; ``.pages()`` walks pages
    (with their ``total``); ``.all()`` collects everything; ``.first()`` fetches one page at most.
    Each iteration starts again from the first page.
    """

    def __init__(self, fetch: Callable[[int, int], Page[T]], *, limit: int = MAX_PAGE_SIZE) -> None:
        self._fetch = fetch
        self.limit = limit

    def pages(self, *, offset: int = 0) -> Iterator[Page[T]]:
        """Every page, starting at ``offset``."""
        return iter_pages(self._fetch, limit=self.limit, offset=offset)

    def __iter__(self) -> Iterator[T]:
        return iter_items(self._fetch, limit=self.limit)

    def all(self) -> list[T]:
        """Every item, in a list."""
        return list(self)

    def first(self) -> T | None:
        """The first item, or ``None`` when the list is empty."""
        return next(iter(self), None)

    def total(self) -> int:
        """How many items the server counts (fetches a single one-item page)."""
        return self._fetch(0, 1).total

    def __repr__(self) -> str:
        return f"<Paginator limit={self.limit}>"
