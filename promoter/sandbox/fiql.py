"""The subset of FIQL that Talend's list endpoints accept in ``query`` (and ``_s``).

``name==Finance;environment.name==dev`` (``;`` is AND and binds tighter than ``,``, OR), with
``==`` and ``!=`` and ``*`` as a wildcard. Values are compared as strings, case-sensitively.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

from promoter.sandbox.errors import bad_request

Predicate = Callable[[Mapping[str, Any]], bool]

_COMPARISON = re.compile(r"^(?P<field>[A-Za-z_][\w.]*)(?P<op>==|!=)(?P<value>[^;,]*)$")


def parse(query: str | None) -> Predicate:
    """A predicate over a (nested) wire-format object; an empty query matches everything."""
    if query is None or not query.strip():
        return lambda _obj: True
    alternatives = []
    for alternative in query.split(","):
        terms = []
        for term in alternative.split(";"):
            match = _COMPARISON.match(term.strip())
            if not match:
                raise bad_request(
                    f"Invalid FIQL query: {query!r}",
                    f"Cannot parse {term!r}; expected field==value, joined with ';' (and) or ',' (or).",
                )
            terms.append((match["field"], match["op"], match["value"]))
        alternatives.append(terms)

    def predicate(obj: Mapping[str, Any]) -> bool:
        return any(all(_compare(obj, *term) for term in terms) for terms in alternatives)

    return predicate


def _compare(obj: Mapping[str, Any], field: str, op: str, expected: str) -> bool:
    value: Any = obj
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    actual = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    matched = fnmatch.fnmatchcase(actual, expected) if "*" in expected else actual == expected
    return matched if op == "==" else not matched
