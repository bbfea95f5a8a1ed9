"""Keeping secrets out of logs, exception text and reprs.

Three kinds of secret pass through the client: credentials (personal access tokens, the OAuth
client secret and the access tokens it yields), the ``Authorization`` header that carries them, and
secret values of connection parameters (marked ``encrypted`` or named like a password, secret,
token, key or passphrase). Every such value the client sees is added to one process-wide
:class:`SecretRegistry`; :func:`mask` replaces registered values in any text before it is logged or
put in an exception, and :class:`MaskingFilter` does the same for every record of the
``promoter.talend`` logger, as a second line of defence.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping

__all__ = [
    "MASK",
    "MaskingFilter",
    "SecretRegistry",
    "is_secret_parameter",
    "mask",
    "mask_headers",
    "register_connection_parameters",
    "register_secret",
    "secrets",
]

#: What a masked value is replaced with.
MASK = "***"

#: Values shorter than this are not registered: masking "1" or "no" everywhere would garble text
#: and reveal nothing worth hiding.
MIN_SECRET_LENGTH = 4

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|pwd|secret|token|(api|private|access|secret)?_?key|credential|auth",
    re.IGNORECASE,
)

_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def is_secret_parameter(name: str, encrypted: bool | None = None) -> bool:
    """Whether a connection parameter holds a secret: marked ``encrypted`` or named like one."""
    return bool(encrypted) or bool(_SECRET_NAME.search(name))


class SecretRegistry:
    """A thread-safe set of secret strings, replaced by :data:`MASK` wherever they appear."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        """Register a secret value (ignored when empty or shorter than four characters)."""
        if value is None or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def mask(self, text: str) -> str:
        """``text`` with every registered secret replaced by :data:`MASK`."""
        with self._lock:
            if not self._values:
                return text
            if self._pattern is None:
                # Longest first, so that a secret containing another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            pattern = self._pattern
        return pattern.sub(MASK, text)

    def __repr__(self) -> str:
        return f"<SecretRegistry: {len(self)} secrets>"


#: The registry every client of this process shares: a secret seen by one client is masked in
#: the output of all of them.
secrets = SecretRegistry()


def register_secret(value: str | None) -> None:
    """Add ``value`` to the process-wide registry of secrets to mask."""
    secrets.add(value)


def mask(text: str) -> str:
    """``text`` with every registered secret masked."""
    return secrets.mask(text)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` fit for a log: credentials replaced by :data:`MASK`."""
    return {
        name: MASK if name.lower() in _SENSITIVE_HEADERS else mask(value)
        for name, value in headers.items()
    }


def register_connection_parameters(parameters: Iterable[Mapping[str, object]]) -> None:
    """Register the secret values among wire-format connection parameters ``{name, value, encrypted}``."""
    for parameter in parameters:
        name = parameter.get("name")
        value = parameter.get("value")
        encrypted = parameter.get("encrypted")
        if (
            isinstance(name, str)
            and isinstance(value, str)
            and is_secret_parameter(name, encrypted is True)
        ):
            register_secret(value)


class MaskingFilter(logging.Filter):
    """A logging filter that masks registered secrets in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        if len(secrets) == 0:
            return True
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
