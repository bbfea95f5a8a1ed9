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
``promoter.talend.plugin.mapping``).
"""

from __future__ import annotations

import functools
import itertools
import os
import posixpath
import time
import types
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from promoter.pipeline.sizes import (
    FILTER_ESTIMATES,
    MATERIALIZED_FILTERS,
    MAX_VALUE_SIZE,
    STR_METHOD_ESTIMATES,
    as_text,
    estimate_lipsum,
    integer_bits,
    length,
    percent_size,
    spec_width,
    value_size,
)

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
    "render_template",
    "sandboxed_environment",
    "template_line",
    "value_size",
]

MAX_OUTPUT_CHARS = 4 * 1024 * 1024
"""Text one render may produce, in characters (4 MiB): a pipeline file is a few kilobytes, so
this is a thousand times the need and still far from exhausting a CI runner's memory."""


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
        self.total += max(value_size(value), spec_width(format_spec)) + len(format_spec)
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
        self.check_size(sum(length(p) for p in parts), "'~'")
        if any(hasattr(p, "__html__") for p in parts):
            return Markup("").join(parts)  # as Jinja2's markup_join: the other parts escaped
        return "".join(as_text(p) for p in parts)

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
        left_bits, right_bits = integer_bits(left), integer_bits(right)
        if operator == "*":
            if left_bits is not None and right_bits is not None:
                self._check_bits(left_bits + right_bits)
            elif left_bits is not None and isinstance(right, str | list | tuple):
                self.check_size(length(right) * max(left, 0), "'*'")
            elif right_bits is not None and isinstance(left, str | list | tuple):
                self.check_size(length(left) * max(right, 0), "'*'")
        elif operator == "**":
            if left_bits is not None and right_bits is not None and right > 0 and left_bits > 1:
                self._check_bits(left_bits * right)
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                self.check_size(length(left) + length(right), "'+'")
        elif operator == "%" and isinstance(left, str):
            self.check_size(percent_size(left, right), "'%'")
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
            estimate = STR_METHOD_ESTIMATES.get(name)
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
        estimate = FILTER_ESTIMATES.get(name)
        materialize = name in MATERIALIZED_FILTERS

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
        self.check_size(estimate_lipsum(n, html, min, max), "lipsum()")
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


def render_template(
    source: str, context: Mapping[str, Any], *, autoescape: bool = False
) -> str:
    """Render a template people wrote (a notification message, a snippet of a plugin's
    configuration), from its text, in :func:`sandboxed_environment` and within its limits."""
    return render(sandboxed_environment(autoescape=autoescape).from_string(source), context)


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
