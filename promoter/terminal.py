"""Text that reaches a terminal: data read from Talend or a pipeline file is shown, never obeyed.

A value may carry escape sequences (``ESC]0;...`` retitles a terminal, ``ESC[8m`` hides the text
after it, ``ESC[2J`` clears the screen) or bidirectional-override characters that make a line
read differently from what it holds. :func:`printable` makes such characters visible, as Python
writes them (``\\x1b``, ``\\u202e``), so that what a user reads is what the value is. Every piece of
data promoter prints — plan values, messages, log lines, names — goes through it; JSON output is
escaped by the JSON encoder already.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls but tab and newline, DEL, C1 controls, and Unicode's invisible direction overrides
# and isolates (Trojan Source: CVE-2021-42574).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character and direction override shown as an escape.

    With ``one_line``, newlines and tabs are escaped too (a table cell, a log line): a value
    cannot forge a line of output that promoter did not write.
    """
    value = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    return pattern.sub(_visible, value)
