"""How big a value a template builds is, measured — or estimated before an operation builds
it — so that the sandbox (:mod:`promoter.pipeline.templating`) refuses ``'A' * 10**9`` or
``x|center(10**9)`` before the memory is spent.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, ItemsView, KeysView, Mapping, Sized, ValuesView
from typing import Any

from jinja2.utils import Namespace

MAX_VALUE_SIZE = 4 * 1024 * 1024
"""The estimated size of any value a template may build, in characters (strings) or items plus
characters (lists, dicts: what ``str()`` of it would roughly produce)."""

# --- measuring values -----------------------------------------------------------------------------


def value_size(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """About how many characters ``str(value)`` would have; stops counting past ``limit``.

    Strings count their length, integers their digits, containers their items plus the size of
    each (an object listed twice counts twice: that is what printing it costs). Iterative, so a
    deeply nested value is no problem; the work is bounded by ``limit``.
    """
    total = 0
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float | complex):
            total += 24
        elif isinstance(item, range):
            total += len(item) * 8 + 8
        elif isinstance(item, Mapping):
            total += 2 * len(item) + 2
            if total <= limit:
                pending.extend(itertools.chain.from_iterable(item.items()))
        elif isinstance(item, list | tuple | set | frozenset | KeysView | ValuesView | ItemsView):
            total += len(item) + 2
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, Namespace):
            attrs = object.__getattribute__(item, "_Namespace__attrs")
            total += 12
            pending.append(attrs)
        else:
            total += 16
        if total > limit:
            return total
    return total


def length(value: Any) -> int:
    """A string's length, or the :func:`value_size` of anything else."""
    return len(value) if isinstance(value, str) else value_size(value)


def integer_bits(value: Any) -> int | None:
    """The bits of an integer (``None`` for anything else)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value).bit_length()
    return None


_PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)


def percent_size(fmt: str, args: Any) -> int:
    """An upper bound of ``len(fmt % args)``: the format, its widths and precisions, the args."""
    star = 0
    if isinstance(args, tuple | list):
        star = max((abs(a) for a in args if isinstance(a, int)), default=0)
    padding = 0
    for match in _PERCENT_SPEC.finditer(fmt):
        for number in match.groups():
            if number == "*":
                padding += star
            elif number:
                padding += int(number) if len(number) < 12 else MAX_VALUE_SIZE + 1
    return len(fmt) + padding + value_size(args)


_FORMAT_NUMBERS = re.compile(r"\d+")


def spec_width(spec: str) -> int:
    """The largest number in a ``str.format`` spec (its width or precision)."""
    numbers = _FORMAT_NUMBERS.findall(spec)
    if any(len(n) >= 12 for n in numbers):
        return MAX_VALUE_SIZE + 1
    return max((int(n) for n in numbers), default=0)


# --- estimates of what a filter or a str method would produce -------------------------------------


def as_text(value: Any) -> str:
    """``value`` as the text a filter works on."""
    return value if isinstance(value, str) else str(value)


def _estimate_center(value: Any, width: Any = 80, *_: Any, **__: Any) -> int:
    return max(len(as_text(value)), width if isinstance(width, int) else 0)


def _estimate_indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    text = as_text(value)
    indent = width if isinstance(width, int) else len(as_text(width))
    return len(text) + (text.count("\n") + 1) * max(indent, 0)


def _estimate_wordwrap(
    value: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    *_: Any,
    **kwargs: Any,
) -> int:
    wrapstring = kwargs.get("wrapstring", wrapstring)
    text = as_text(value)
    return len(text) + (len(text) + 1) * max(len(as_text(wrapstring or "\n")), 1)


def _estimate_replace(
    value: Any, old: Any = "", new: Any = "", count: Any = None, **kw: Any
) -> int:
    text, old, new = as_text(value), as_text(old), as_text(new)
    count = kw.get("count", count)
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * max(len(new) - len(old), 0)


def _estimate_format(value: Any, *args: Any, **kwargs: Any) -> int:
    return percent_size(as_text(value), kwargs or args)


def _estimate_join(value: Any, d: Any = "", *_: Any, **kwargs: Any) -> int:
    separator = as_text(kwargs.get("d", d))
    items = len(value) if isinstance(value, Sized) else 0
    return value_size(value) + max(items - 1, 0) * len(separator)


def _estimate_batch(value: Any, linecount: Any = 1, fill_with: Any = None, **kw: Any) -> int:
    linecount = kw.get("linecount", linecount)
    fill_with = kw.get("fill_with", fill_with)
    count = linecount if isinstance(linecount, int) else 0
    items = len(value) if isinstance(value, Sized) else 0
    fill = value_size(fill_with) * count if fill_with is not None else 0
    return value_size(value) + items + count + fill


def _estimate_slice(value: Any, slices: Any = 1, fill_with: Any = None, **kw: Any) -> int:
    slices = kw.get("slices", slices)
    fill_with = kw.get("fill_with", fill_with)
    count = slices if isinstance(slices, int) else 0
    fill = value_size(fill_with) * count if fill_with is not None else 0
    return value_size(value) + 8 * count + fill


def _estimate_urlize(value: Any, *args: Any, **kwargs: Any) -> int:
    text = as_text(value)
    extra = sum(len(as_text(a)) for a in (*args, *kwargs.values()) if isinstance(a, str))
    return 3 * len(text) + (len(text) // 2 + 1) * (64 + extra)


def _estimate_tojson(value: Any, indent: Any = None, **kwargs: Any) -> int:
    indent = kwargs.get("indent", indent)
    width = indent if isinstance(indent, int) else len(as_text(indent or ""))
    return value_size(value) * 8 * (1 + max(width, 0))


def _estimate_expandtabs(value: Any, tabsize: Any = 8, **kwargs: Any) -> int:
    tabsize = kwargs.get("tabsize", tabsize)
    text = as_text(value)
    return len(text) + text.count("\t") * max(tabsize if isinstance(tabsize, int) else 8, 0)


def _estimate_translate(value: Any, table: Any = None, *_: Any, **__: Any) -> int:
    text = as_text(value)
    longest = 1
    if isinstance(table, Mapping):
        longest = max((len(as_text(v)) for v in table.values() if v is not None), default=1)
    return len(text) * max(longest, 1)


def _estimate_str_join(value: Any, iterable: Any = (), *_: Any, **__: Any) -> int:
    return _estimate_join(iterable, value)


def estimate_lipsum(n: Any = 5, html: Any = True, min: Any = 20, max: Any = 100) -> int:
    """An upper bound of the text ``lipsum()`` produces."""
    count = n if isinstance(n, int) else 5
    words = max if isinstance(max, int) else 100
    return count * words * 12


Estimate = Callable[..., int]

FILTER_ESTIMATES: dict[str, Estimate] = {
    "batch": _estimate_batch,
    "center": _estimate_center,
    "format": _estimate_format,
    "indent": _estimate_indent,
    "join": _estimate_join,
    "replace": _estimate_replace,
    "slice": _estimate_slice,
    "tojson": _estimate_tojson,
    "urlize": _estimate_urlize,
    "wordwrap": _estimate_wordwrap,
}
"""Filters whose output can be much larger than their input, and how large it would be."""

MATERIALIZED_FILTERS = frozenset({"batch", "join", "slice"})
"""Filters whose estimate needs the length of an iterator: they get a list instead."""

STR_METHOD_ESTIMATES: dict[str, Estimate] = {
    "center": _estimate_center,
    "ljust": _estimate_center,
    "rjust": _estimate_center,
    "zfill": _estimate_center,
    "expandtabs": _estimate_expandtabs,
    "replace": _estimate_replace,
    "join": _estimate_str_join,
    "translate": _estimate_translate,
}
"""``str`` methods whose result can be much larger than the string."""
