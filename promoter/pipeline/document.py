"""The YAML document of a pipeline file: parsed within limits, with its line numbers, and the
problems found in it located there (``file:line: key: message``).

Limits come first — a file is at most :data:`MAX_PIPELINE_FILE_SIZE`, and its YAML events are
checked for depth and for the number of values once aliases are expanded
(:func:`yaml_limit_problem`) before anything is built from them — so that a hostile file
("billion laughs", a 50,000-deep list) ends in a clear error within seconds and little memory.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, RootModel, ValidationError

from promoter.errors import PipelineError, PipelineProblem
from promoter.pipeline.secrets import SecretRef

MAX_PIPELINE_FILE_SIZE = 4 * 1024 * 1024
"""The largest pipeline file, in characters, as written and once rendered (4 MiB)."""

MAX_YAML_DEPTH = 64
"""How deeply a pipeline file's YAML may nest (aliases included)."""

MAX_YAML_NODES = 20_000
"""How many values (keys, scalars, lists, mappings) a pipeline file's YAML may hold once its
aliases are expanded. A pipeline file holds a few hundred; ruamel.yaml reads about 20,000 a second
(check, load and validation each walk them), so this keeps a file within seconds."""



_KEY_RE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:")


def key_on_line(lines: list[str], line: int | None) -> str | None:
    """The key written on a line of the file, if any."""
    if line is None or not 1 <= line <= len(lines):
        return None
    match = _KEY_RE.match(lines[line - 1])
    return match[1] if match else None


_TEMPLATE_OPENING = re.compile(r"\{[{%#]")
_TEMPLATE_CLOSING = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _blank_template_expressions(text: str) -> str:
    """``text`` with every ``{{ }}``, ``{% %}`` and ``{# #}`` replaced by ``x`` (keeping their
    newlines), so that the YAML structure of an unrendered file shows. Linear: an unclosed
    opening blanks the rest of the text."""
    parts: list[str] = []
    position = 0
    while (match := _TEMPLATE_OPENING.search(text, position)) is not None:
        end = text.find(_TEMPLATE_CLOSING[match.group(0)], match.end())
        end = len(text) if end < 0 else end + 2
        parts.append(text[position : match.start()])
        parts.append("x" + "\n" * text.count("\n", match.start(), end))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def key_path_on_line(text: str, line: int | None) -> str | None:
    """The key path (``artifacts[0].version``) on a line of the unrendered file, if it parses
    (within the same limits as the rendered file)."""
    if line is None:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    blanked = _blank_template_expressions(text)
    if yaml_limit_problem(blanked) is not None:
        return None
    try:
        document = YAML(typ="rt").load(blanked)
    except (YAMLError, RecursionError):
        return None
    found: list[tuple[str | int, ...]] = []

    def walk(node: Any, loc: tuple[str | int, ...]) -> None:
        lc: Any = getattr(node, "lc", None)
        if lc is None:
            return
        if isinstance(node, dict):
            for key in node:
                if lc.key(key)[0] + 1 == line:
                    found.append((*loc, str(key)))
                walk(node[key], (*loc, str(key)))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if lc.item(index)[0] + 1 == line:
                    found.append((*loc, index))
                walk(item, (*loc, index))

    walk(document, ())
    return format_loc(max(found, key=len)) if found else None


def yaml_limit_problem(text: str) -> tuple[int | None, str] | None:
    """The first limit a YAML text goes past, as ``(line, message)``, or ``None``.

    Reads the parser's events, before anything is composed: nesting deeper than
    :data:`MAX_YAML_DEPTH`, or more than :data:`MAX_YAML_NODES` nodes once aliases are expanded
    (an alias counts as the whole node it refers to: a "billion laughs" file is refused after a
    few lines). An alias to a node that contains it is refused too. Syntax errors are left to
    the loader, which reports them with their line.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    count = 0
    # One entry per open collection: [anchor, count before it, its depth, deepest depth inside].
    open_nodes: list[list[Any]] = []
    sizes: dict[str, int] = {}
    heights: dict[str, int] = {}
    try:
        for event in YAML(typ="rt").parse(text):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            depth = len(open_nodes)
            if isinstance(event, AliasEvent):
                if event.anchor not in sizes:
                    if any(node[0] == event.anchor for node in open_nodes):
                        return line, (
                            f"the alias *{event.anchor} refers to a node that contains it"
                        )
                    continue  # an undefined alias: the loader reports it
                count += sizes[event.anchor]
                reach = depth + heights[event.anchor]
                if reach > MAX_YAML_DEPTH:
                    return line, _too_deep()
                if open_nodes:
                    open_nodes[-1][3] = max(open_nodes[-1][3], reach)
            elif isinstance(event, ScalarEvent):
                count += 1
                if event.anchor:
                    sizes[event.anchor], heights[event.anchor] = 1, 0
            elif isinstance(event, CollectionStartEvent):
                count += 1
                if depth + 1 > MAX_YAML_DEPTH:
                    return line, _too_deep()
                open_nodes.append([event.anchor, count - 1, depth + 1, depth + 1])
            elif isinstance(event, CollectionEndEvent) and open_nodes:
                anchor, before, start, deepest = open_nodes.pop()
                if open_nodes:
                    open_nodes[-1][3] = max(open_nodes[-1][3], deepest)
                if anchor:
                    sizes[anchor], heights[anchor] = count - before, deepest - start + 1
            if count > MAX_YAML_NODES:
                return line, (
                    f"the document has more than {MAX_YAML_NODES:,} values once its aliases are "
                    "expanded (an alias counts as everything it refers to); a pipeline file needs "
                    "a few hundred"
                )
    except (YAMLError, RecursionError):
        return None
    return None


def _too_deep() -> str:
    return (
        f"the document is nested more than {MAX_YAML_DEPTH} levels deep (aliases included); "
        "a pipeline file needs five or six"
    )


def too_big(what: str) -> str:
    """The message for a file past :data:`MAX_PIPELINE_FILE_SIZE`."""
    return (
        f"{what} is larger than {MAX_PIPELINE_FILE_SIZE // (1024 * 1024)} MiB; a pipeline file "
        "is a few kilobytes"
    )


def parse_document(display: str, text: str) -> Any:
    """The YAML document of a pipeline file (with line numbers), once within the limits;
    raises :class:`PipelineError` naming the line of a syntax error."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    limit = yaml_limit_problem(text)
    if limit is not None:
        line, message = limit
        raise PipelineError(
            [PipelineProblem(display, line, key_on_line(text.splitlines(), line), message)]
        )
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        key = key_on_line(text.splitlines(), line)
        raise PipelineError(
            [PipelineProblem(display, line, key, f"YAML syntax error: {problem}")]
        ) from None
    except YAMLError as exc:
        raise PipelineError([PipelineProblem(display, None, None, f"YAML error: {exc}")]) from None
    if document is None:
        raise PipelineError([PipelineProblem(display, 1, None, "the pipeline file is empty")])
    if not isinstance(document, CommentedMap):
        raise PipelineError(
            [PipelineProblem(display, 1, None, "a pipeline file must be a mapping of sections")]
        )
    return document


def to_plain(node: Any) -> Any:
    """ruamel's round-trip nodes -> dicts, lists, scalars; secret-looking strings -> SecretRef."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        text = str(node)
        if SecretRef.looks_like(text):
            try:
                return SecretRef.parse(text)
            except ValueError:
                return text  # an unknown scheme: reported by validation as an invalid reference
        return text
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node



class Locator:
    """Finds the line of a key path in the parsed document, and formats problems."""

    def __init__(self, display: str, document: Any) -> None:
        self.display = display
        self.document = document

    def line(self, loc: tuple[str | int, ...]) -> int | None:
        """1-based line of ``loc``; for a missing key, the line of its closest parent."""
        node: Any = self.document
        line: int = node.lc.line + 1
        for part in loc:
            lc: Any = getattr(node, "lc", None)
            try:
                if isinstance(node, dict) and part in node:
                    line = lc.key(part)[0] + 1
                    node = node[part]
                elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                    line = lc.item(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (AttributeError, KeyError, TypeError):
                break
        return line

    def problem(self, loc: tuple[str | int, ...], message: str) -> PipelineProblem:
        """A problem at ``loc``."""
        return PipelineProblem(self.display, self.line(loc), format_loc(loc) or None, message)

    def from_validation(
        self, exc: ValidationError, model: type[BaseModel], prefix: tuple[str | int, ...]
    ) -> list[PipelineProblem]:
        """One problem per invalid key (union alternatives collapsed into the first)."""
        problems: list[PipelineProblem] = []
        seen: set[str] = set()
        for error in exc.errors(include_url=False):
            loc = (*prefix, *self._data_loc(prefix, error["loc"]))
            key = format_loc(loc)
            if key in seen:
                continue
            seen.add(key)
            problems.append(
                PipelineProblem(
                    self.display, self.line(loc), key or None, _message(error, model, loc, prefix)
                )
            )
        return problems

    def _data_loc(
        self, prefix: tuple[str | int, ...], loc: tuple[str | int, ...]
    ) -> tuple[str | int, ...]:
        """Drop pydantic's union/validator tags from ``loc``, keeping the keys in the document."""
        node: Any = self.document
        for part in prefix:
            node = node.get(part) if isinstance(node, dict) else None
        kept: list[str | int] = []
        for index, part in enumerate(loc):
            if isinstance(node, dict):
                if part in node:
                    kept.append(part)
                    node = node[part]
                    continue
                if index == len(loc) - 1:
                    kept.append(part)  # a missing or unknown key
                break
            if isinstance(node, list) and isinstance(part, int):
                kept.append(part)
                node = node[part] if 0 <= part < len(node) else None
                continue
            break
        return tuple(kept)


def format_loc(loc: tuple[str | int, ...]) -> str:
    """A key path as written in messages: ``targets[1].environment``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(
    error: Any, model: type[BaseModel], loc: tuple[str | int, ...], prefix: tuple[str | int, ...]
) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[len(prefix) : -1])
        message = "unknown key"
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            message += "; allowed keys: " + ", ".join(sorted(allowed))
        return message
    if isinstance(error.get("input"), SecretRef):
        return "a secret reference is not allowed here; put secrets under parameters.secrets"
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[:1].lower() + msg[1:]


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model found at ``loc`` (best effort; empty if unknown)."""
    current: Any = _unwrap_root(model)
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _unwrap_root(_inner_model(info.annotation))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap_root(model: Any) -> Any:
    """The item model of a root model (``artifacts:`` is a list of artifact models)."""
    if isinstance(model, type) and issubclass(model, RootModel):
        return _inner_model(model.model_fields["root"].annotation)
    return model


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None
