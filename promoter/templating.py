"""Jinja2 for the templates people write: pipeline files, connection templates and
``parameters.values`` — rendered in Jinja2's immutable sandbox, within limits.

A pipeline file is code review material, not trusted code: CI runs ``promoter validate`` on pull
requests from people who must not get the runner's credentials, and a connection template sits
next to it. So every such template is rendered by the environment :func:`sandboxed_environment`
builds, and nowhere else:

- **no Python internals**: Jinja2's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`
  refuses attributes starting with ``_`` (``__class__``, ``__globals__``, ``__mro__``...), unsafe
  callables and methods that modify lists and dicts; a refusal raises
  :class:`~jinja2.sandbox.SecurityError` at once (rather than yielding an undefined value);
- **bounded work**, each limit a constant below, each breach a :class:`TemplateLimitError`
  naming it: the text a render produces (counted where it is produced: at top level, in macros,
  in ``{% set %}`` and ``{% filter %}`` blocks), the loop iterations of the whole render (nested
  loops too, printing or not), the size of any value an operator, filter or method would build
  (checked *before* it is computed: ``'A' * 10**9``, ``'%999999999d' % 1``, ``x|center(10**9)``),
  the bits of integers, and the wall-clock time (checked at every loop step, operator, call,
  filter and output). Too deep a recursion (a macro calling itself) ends as a
  :class:`TemplateLimitError` too.

Values read from Talend are never rendered by any environment: they are data (see
``promoter.stages.mapping``).
"""

from __future__ import annotations

import functools
import itertools
import os
import posixpath
import re
import time
import types
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sized,
    ValuesView,
)
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

__all__ = [
    "MAX_INTEGER_BITS",
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_TEMPLATE_FILE_SIZE",
    "MAX_VALUE_SIZE",
    "RENDER_SECONDS",
    "LimitedSandbox",
    "SecurityError",
    "TemplateDirectoryLoader",
    "TemplateLimitError",
    "describe",
    "render",
    "sandboxed_environment",
    "template_line",
    "value_size",
]

MAX_OUTPUT_CHARS = 4 * 1024 * 1024
"""Text one render may produce, in characters (4 MiB): a pipeline file is a few kilobytes, so
this is a thousand times the need and still far from exhausting a CI runner's memory."""

MAX_VALUE_SIZE = 4 * 1024 * 1024
"""The estimated size of any value a template may build, in characters (strings) or items plus
characters (lists, dicts: what ``str()`` of it would roughly produce)."""

MAX_LOOP_ITERATIONS = 100_000
"""Loop iterations of one render, all loops together (Jinja2's own ``range()`` limit)."""

MAX_INTEGER_BITS = 8_192
"""Bits of an integer a template may compute (about 2,500 digits; Python refuses to print more
than 4,300 anyway)."""

RENDER_SECONDS = 5.0
"""Wall-clock seconds one render may take; a pipeline file renders in milliseconds."""

_MiB = 1024 * 1024


class TemplateLimitError(Exception):
    """A template went past one of the sandbox's limits; the message names the limit."""


def _chars(count: int) -> str:
    if count >= _MiB and count % _MiB == 0:
        return f"{count // _MiB} MiB"
    return f"{count:,} characters"


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


def _length(value: Any) -> int:
    """A string's length, or the :func:`value_size` of anything else."""
    return len(value) if isinstance(value, str) else value_size(value)


def _integer_bits(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value).bit_length()
    return None


_PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)


def _percent_size(fmt: str, args: Any) -> int:
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


def _spec_width(spec: str) -> int:
    """The largest number in a ``str.format`` spec (its width or precision)."""
    numbers = _FORMAT_NUMBERS.findall(spec)
    if any(len(n) >= 12 for n in numbers):
        return MAX_VALUE_SIZE + 1
    return max((int(n) for n in numbers), default=0)


# --- estimates of what a filter or a str method would produce -------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _estimate_center(value: Any, width: Any = 80, *_: Any, **__: Any) -> int:
    return max(len(_text(value)), width if isinstance(width, int) else 0)


def _estimate_indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    text = _text(value)
    indent = width if isinstance(width, int) else len(_text(width))
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
    text = _text(value)
    return len(text) + (len(text) + 1) * max(len(_text(wrapstring or "\n")), 1)


def _estimate_replace(
    value: Any, old: Any = "", new: Any = "", count: Any = None, **kw: Any
) -> int:
    text, old, new = _text(value), _text(old), _text(new)
    count = kw.get("count", count)
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * max(len(new) - len(old), 0)


def _estimate_format(value: Any, *args: Any, **kwargs: Any) -> int:
    return _percent_size(_text(value), kwargs or args)


def _estimate_join(value: Any, d: Any = "", *_: Any, **kwargs: Any) -> int:
    separator = _text(kwargs.get("d", d))
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
    text = _text(value)
    extra = sum(len(_text(a)) for a in (*args, *kwargs.values()) if isinstance(a, str))
    return 3 * len(text) + (len(text) // 2 + 1) * (64 + extra)


def _estimate_tojson(value: Any, indent: Any = None, **kwargs: Any) -> int:
    indent = kwargs.get("indent", indent)
    width = indent if isinstance(indent, int) else len(_text(indent or ""))
    return value_size(value) * 8 * (1 + max(width, 0))


def _estimate_expandtabs(value: Any, tabsize: Any = 8, **kwargs: Any) -> int:
    tabsize = kwargs.get("tabsize", tabsize)
    text = _text(value)
    return len(text) + text.count("\t") * max(tabsize if isinstance(tabsize, int) else 8, 0)


def _estimate_translate(value: Any, table: Any = None, *_: Any, **__: Any) -> int:
    text = _text(value)
    longest = 1
    if isinstance(table, Mapping):
        longest = max((len(_text(v)) for v in table.values() if v is not None), default=1)
    return len(text) * max(longest, 1)


def _estimate_str_join(value: Any, iterable: Any = (), *_: Any, **__: Any) -> int:
    return _estimate_join(iterable, value)


def _estimate_lipsum(n: Any = 5, html: Any = True, min: Any = 20, max: Any = 100) -> int:
    count = n if isinstance(n, int) else 5
    words = max if isinstance(max, int) else 100
    return count * words * 12


Estimate = Callable[..., int]

_FILTER_ESTIMATES: dict[str, Estimate] = {
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

_MATERIALIZED_FILTERS = frozenset({"batch", "join", "slice"})
"""Filters whose estimate needs the length of an iterator: they get a list instead."""

_STR_METHOD_ESTIMATES: dict[str, Estimate] = {
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


# --- the environment ------------------------------------------------------------------------------


class _Budget:
    """What one render has used so far."""

    __slots__ = ("deadline", "iterations", "produced")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.iterations = 0
        self.produced = 0


class _Guards(NodeTransformer):
    """Rewrites a parsed template so that loops, ``~`` and output go through the environment's
    guards (which count and measure), whatever the code generator does with them."""

    def __init__(self, environment: jinja2.Environment) -> None:
        self.environment = environment

    def guard(self, name: str, *args: nodes.Node, lineno: int) -> nodes.Call:
        expressions = [cast(nodes.Expr, arg) for arg in args]
        call = nodes.Call(nodes.EnvironmentAttribute(name), expressions, [], None, None)
        call.set_lineno(lineno)
        call.set_environment(self.environment)
        return call

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self.guard("guard_loop", node.iter, lineno=node.lineno)
        if node.recursive:
            # `loop(children)` iterates its argument without going through node.iter.
            for call in node.find_all(nodes.Call):
                is_loop = isinstance(call.node, nodes.Name) and call.node.name == "loop"
                if is_loop and call.args:
                    call.args[0] = self.guard("guard_loop", call.args[0], lineno=call.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self.guard("guard_concat", *node.nodes, lineno=node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [
            cast(nodes.Expr, self.guard("guard_output", child, lineno=child.lineno))
            for child in node.nodes
        ]
        return node


class _LimitedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, refusing a width or a total beyond the value-size limit."""

    def __init__(self, environment: LimitedSandbox) -> None:
        super().__init__(environment)
        self.limited = environment
        self.total = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        self.total += max(value_size(value), _spec_width(format_spec)) + len(format_spec)
        self.limited.check_size(self.total, "str.format()")
        return super().format_field(value, format_spec)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with promoter's limits; build one with
    :func:`sandboxed_environment` and render with :func:`render`.

    One environment renders one template at a time: the budget (time, loop iterations, text
    produced) belongs to the render in progress and restarts with the next :func:`render`.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        self._finalize_value: Callable[[Any], Any] | None = options.pop("finalize", None)
        options.setdefault("undefined", jinja2.StrictUndefined)
        options.setdefault("autoescape", False)
        options.setdefault("keep_trailing_newline", True)
        super().__init__(**options)
        self.budget = _Budget()
        self.filters = {name: self._limited_filter(name, f) for name, f in self.filters.items()}
        self.globals["lipsum"] = self._limited_lipsum

    # ------------------------------------------------------------------ the budget

    def start_render(self) -> None:
        """Start a new budget: the clock, the loop count and the text produced."""
        self.budget = _Budget()

    def check_time(self) -> None:
        """Raise if the render has taken longer than :data:`RENDER_SECONDS`."""
        if time.monotonic() > self.budget.deadline:
            raise TemplateLimitError(f"time limit: rendering took longer than {RENDER_SECONDS:g} s")

    def check_size(self, size: int, what: str) -> None:
        """Raise if ``what`` would build a value larger than :data:`MAX_VALUE_SIZE`."""
        if size > MAX_VALUE_SIZE:
            raise TemplateLimitError(
                f"value size limit: {what} would build a value of more than "
                f"{_chars(MAX_VALUE_SIZE)}"
            )

    def check_value(self, value: Any, what: str) -> None:
        """Raise if ``value`` is larger than :data:`MAX_VALUE_SIZE`."""
        self.check_size(value_size(value), what)

    # ------------------------------------------------------------------ guards the rewritten
    # template calls (see _Guards)

    def guard_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Iterate ``iterable``, counting every step against :data:`MAX_LOOP_ITERATIONS`."""
        budget = self.budget
        for item in iterable:
            budget.iterations += 1
            if budget.iterations > MAX_LOOP_ITERATIONS:
                raise TemplateLimitError(
                    f"loop limit: the template's loops ran more than "
                    f"{MAX_LOOP_ITERATIONS:,} iterations in all"
                )
            if time.monotonic() > budget.deadline:
                self.check_time()
            yield item

    def guard_concat(self, *parts: Any) -> str:
        """``a ~ b``: measured before anything is converted to text."""
        self.check_time()
        self.check_size(sum(_length(p) for p in parts), "'~'")
        if any(hasattr(p, "__html__") for p in parts):
            return Markup("").join(parts)  # as Jinja2's markup_join: the other parts escaped
        return "".join(_text(p) for p in parts)

    def guard_output(self, value: Any) -> Any:
        """Every ``{{ ... }}`` and piece of template text, wherever it is produced."""
        self.check_time()
        if self._finalize_value is not None:
            value = self._finalize_value(value)
        if not isinstance(value, str):
            if isinstance(value, jinja2.Undefined):
                return value  # StrictUndefined raises, with the template line, when printed
            self.check_value(value, "printing a value")
            value = Markup(value.__html__()) if hasattr(value, "__html__") else str(value)
        self.budget.produced += len(value)
        if self.budget.produced > MAX_OUTPUT_CHARS:
            raise TemplateLimitError(
                f"output limit: the template produces more than {_chars(MAX_OUTPUT_CHARS)} of text"
            )
        return value

    _GUARDS = frozenset({"guard_loop", "guard_concat", "guard_output"})

    # ------------------------------------------------------------------ sandbox hooks

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """Refuse at once (the default returns an undefined value that ``default`` hides)."""
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``+`` and ``%``, with the size of the result checked first."""
        self.check_time()
        left_bits, right_bits = _integer_bits(left), _integer_bits(right)
        if operator == "*":
            if left_bits is not None and right_bits is not None:
                self._check_bits(left_bits + right_bits)
            elif left_bits is not None and isinstance(right, str | list | tuple):
                self.check_size(_length(right) * max(left, 0), "'*'")
            elif right_bits is not None and isinstance(left, str | list | tuple):
                self.check_size(_length(left) * max(right, 0), "'*'")
        elif operator == "**":
            if left_bits is not None and right_bits is not None and right > 0 and left_bits > 1:
                self._check_bits(left_bits * right)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                self.check_size(_length(left) + _length(right), "'+'")
        elif operator == "%" and isinstance(left, str):
            self.check_size(_percent_size(left, right), "'%'")
        return super().call_binop(context, operator, left, right)

    def _check_bits(self, bits: int) -> None:
        if bits > MAX_INTEGER_BITS:
            raise TemplateLimitError(
                f"integer limit: the result would have more than {MAX_INTEGER_BITS:,} bits"
            )

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from the template: the deadline, then the size of what it would build."""
        if (
            isinstance(__obj, types.MethodType)
            and __obj.__self__ is __self
            and __obj.__name__ in __self._GUARDS
        ):
            return __context.call(__obj, *args, **kwargs)
        __self.check_time()
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        # Jinja2 passes the loop's and block's variables along; they are not arguments.
        arguments = {k: v for k, v in kwargs.items() if k not in ("_loop_vars", "_block_vars")}
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(owner, str):
            if name in ("format", "format_map"):
                __obj = __self.wrap_str_format(__obj) or __obj
            elif name == "join" and args and not isinstance(args[0], Sized):
                args = (__self._materialize(args[0], "str.join()"), *args[1:])
            estimate = _STR_METHOD_ESTIMATES.get(name)
            if estimate is not None:
                __self.check_size(estimate(owner, *args, **arguments), f"str.{name}()")
        elif isinstance(__obj, types.BuiltinMethodType | types.MethodType) and owner is not None:
            __self.check_value(owner, f"{name}()")
        __self.check_size(value_size((args, arguments)), f"calling {name or 'a function'}()")
        return __context.call(__obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``/``format_map`` through :class:`_LimitedFormatter`."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType):
            return None
        owner: Any = value.__self__
        if value.__name__ not in ("format", "format_map") or not isinstance(owner, str):
            return None
        is_format_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            formatter = _LimitedFormatter(self)
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(wrapper, value)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse; an expression nested too deeply for Python's stack is a syntax error at its
        line (rather than a ``RecursionError`` without one)."""
        parser = Parser(self, source, name, filename)
        try:
            return parser.parse()
        except RecursionError:
            raise jinja2.TemplateSyntaxError(
                "an expression is nested too deeply", parser.stream.current.lineno, name, filename
            ) from None

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        """Compile the template with every loop, ``~`` and output guarded."""
        guarded = _Guards(self).visit(source)
        return super()._generate(guarded, name, filename, defer_init)

    # ------------------------------------------------------------------ filters and globals

    def _limited_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        passes = getattr(func, "jinja_pass_arg", None)
        skip = 1 if passes is not None else 0
        estimate = _FILTER_ESTIMATES.get(name)
        materialize = name in _MATERIALIZED_FILTERS

        @functools.wraps(func)
        def limited(*args: Any, **kwargs: Any) -> Any:
            self.check_time()
            if len(args) > skip:
                value = args[skip]
                if materialize and not isinstance(value, Sized):
                    value = self._materialize(value, f"|{name}")
                    args = (*args[:skip], value, *args[skip + 1 :])
                self.check_size(value_size((args[skip:], kwargs)), f"|{name}")
                if estimate is not None:
                    self.check_size(estimate(*args[skip:], **kwargs), f"|{name}")
            return func(*args, **kwargs)

        return limited

    def _materialize(self, iterable: Iterable[Any], what: str) -> list[Any]:
        items = list(itertools.islice(iterable, MAX_VALUE_SIZE + 1))
        self.check_size(len(items), what)
        return items

    def _limited_lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        self.check_size(_estimate_lipsum(n, html, min, max), "lipsum()")
        return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


MAX_TEMPLATE_FILE_SIZE = 4 * 1024 * 1024
"""The largest template file :class:`TemplateDirectoryLoader` reads, in bytes (4 MiB)."""


class TemplateDirectoryLoader(jinja2.FileSystemLoader):
    """Templates from one directory: a file whose real path (symbolic links resolved) leaves the
    directory is refused, and so is one larger than :data:`MAX_TEMPLATE_FILE_SIZE` — checked
    before it is read (the loader serves ``{% include %}`` and ``{% import %}`` too)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        super().__init__(str(directory))
        self.directory = os.path.realpath(directory)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The template's text, once its place and size are checked."""
        filename = posixpath.join(self.searchpath[0], *split_template_path(template))
        if os.path.isfile(filename):
            real = os.path.realpath(filename)
            if os.path.commonpath([real, self.directory]) != self.directory:
                raise SecurityError(
                    f"template {template!r} is a link to {real}, outside the template directory "
                    f"{self.directory}"
                )
            if os.path.getsize(real) > MAX_TEMPLATE_FILE_SIZE:
                raise TemplateLimitError(
                    f"size limit: template {template!r} is larger than "
                    f"{_chars(MAX_TEMPLATE_FILE_SIZE)}"
                )
        return super().get_source(environment, template)


def sandboxed_environment(**options: Any) -> LimitedSandbox:
    """The one Jinja2 environment for templates people write (pipeline files, connection
    templates, ``parameters.values``): :class:`LimitedSandbox`, with ``StrictUndefined``, no
    autoescaping and trailing newlines kept unless ``options`` say otherwise. ``options`` are
    :class:`jinja2.Environment`'s (``loader=...``); ``finalize`` must take the value alone.

    Jinja2's filters are wrapped with the limits when the environment is built; a filter added
    to ``environment.filters`` afterwards is not, so measure what it builds yourself."""
    return LimitedSandbox(**options)


def render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render ``template`` (from a :class:`LimitedSandbox`) with a fresh budget, streaming, and
    stop as soon as the output passes :data:`MAX_OUTPUT_CHARS`.

    Raises the template's own errors, :class:`~jinja2.sandbox.SecurityError` when it reaches for
    Python internals, and :class:`TemplateLimitError` past a limit (a ``RecursionError`` becomes
    one, chained, so that :func:`template_line` still finds the line).
    """
    environment = template.environment
    if not isinstance(environment, LimitedSandbox):
        raise TypeError("render() takes templates of a sandboxed_environment()")
    environment.start_render()
    chunks: list[str] = []
    total = 0
    try:
        for chunk in template.generate(dict(context)):
            total += len(chunk)
            if total > MAX_OUTPUT_CHARS:
                raise TemplateLimitError(
                    f"output limit: the template produces more than {_chars(MAX_OUTPUT_CHARS)}"
                    " of text"
                )
            chunks.append(chunk)
    except RecursionError as exc:
        raise TemplateLimitError(
            "recursion limit: the template calls itself too deeply (a macro that calls itself?)"
        ) from exc
    return "".join(chunks)


def template_line(exc: BaseException, filename: str = "<template>") -> int | None:
    """The line of the template where ``exc`` was raised (``lineno`` of a syntax error, or the
    innermost template frame of the traceback, or of the exception it was raised from)."""
    lineno = getattr(exc, "lineno", None)
    if isinstance(exc, jinja2.TemplateSyntaxError) and lineno:
        return int(lineno)
    import traceback

    current: BaseException | None = exc
    while current is not None:
        line = None
        for frame in traceback.extract_tb(current.__traceback__):
            if frame.filename == filename:
                line = frame.lineno
        if line is not None:
            return line
        current = current.__cause__
    return None


def describe(exc: BaseException) -> str:
    """A user-facing sentence for a sandbox refusal or a limit (any other error: its text)."""
    if isinstance(exc, SecurityError):
        message = exc.message or str(exc)
        if "unsafe" in message or "not safely callable" in message:
            message += (
                "; templates are rendered in a sandbox and cannot reach Python internals "
                "(names starting with '_') or call unsafe functions"
            )
        return f"refused for security: {message}"
    if isinstance(exc, TemplateLimitError):
        return f"template stopped by the sandbox's {exc} (limits: docs/security.md)"
    if isinstance(exc, RecursionError):
        return "template stopped: it calls itself too deeply (a macro that calls itself?)"
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"
