"""Text that reaches a terminal: data read from Talend or a pipeline file is shown, never obeyed.

A value may carry escape sequences (``ESC]0;...`` retitles a terminal, ``ESC[8m`` hides the text
after it, ``ESC[2J`` clears the screen) or bidirectional-override characters that make a line
read differently from what it holds. :func:`printable` makes such characters visible, as Python
writes them (``\\x1b``, ``\\u202e``), so that what a user reads is what the value is. Every piece of
data promoter prints — plan values, messages, log lines, names — goes through it.

Output written through rich goes through :func:`printable_markup` instead: rich does not remove
``ESC`` itself (it drops only a few C0 controls such as BEL and CR), and it reads ``[...]`` in a
string as markup.

JSON output needs no more than the JSON encoder: ``json.dumps`` (``ensure_ascii``, the default)
escapes everything outside ASCII. A JSON document from an encoder that writes non-ASCII characters
as they are (pydantic's ``model_dump_json``) goes through :func:`printable_json` before a terminal
may see it.
"""

from __future__ import annotations

import re

__all__ = ["printable", "printable_json", "printable_markup"]

# What no terminal may receive from data, and what no reader can see:
# - C0 controls but tab and newline (ESC starts every escape sequence, BEL ends OSC ones, CR
#   rewrites a line), DEL, and C1 controls (0x9b is a one-character CSI, 0x9d an OSC);
# - Unicode's invisible direction marks, overrides and isolates (Trojan Source: CVE-2021-42574);
# - invisible characters that make two different names look alike: zero-width space, word
#   joiner and invisible operators, the byte-order mark, and the tag characters (U+E0000-E007F);
# - lone surrogates, which cannot be encoded: printing one would end the command with a traceback.
# Zero-width joiners and non-joiners are left alone: scripts and emoji need them.
_INVISIBLE = (
    "\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\ud800-\udfff\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_INVISIBLE}]")
# In a JSON document, ASCII controls are escaped by every encoder; the rest may be raw.
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f\u2028\u2029{_INVISIBLE}]")


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON writes a character beyond the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def printable(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character and direction override shown as an escape.

    With ``one_line``, newlines and tabs are escaped too (a table cell, a log line): a value
    cannot forge a line of output that promoter did not write.

    >>> printable("prod\\x1b]0;pwned\\x07")
    'prod\\\\x1b]0;pwned\\\\x07'
    """
    value = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    return pattern.sub(_visible, value)


def printable_markup(text: object, *, one_line: bool = True) -> str:
    """``text`` for rich's markup: :func:`printable`, then ``[`` escaped so it stays text.

    One line by default: most of what goes through rich is a table cell or a line of a list.
    """
    from rich.markup import escape

    return escape(printable(text, one_line=one_line))


def printable_json(document: str) -> str:
    """A JSON document with the characters of :func:`printable` written as ``\\uXXXX`` escapes.

    The document means exactly the same (those characters can only appear inside its strings),
    but a terminal showing it cannot be controlled by them.
    """
    return _UNSAFE_IN_JSON.sub(_json_escape, document)
