"""promoter's error hierarchy.

Every error a user can see derives from :class:`PromoterError`. Each carries the process exit code
that the CLI uses, and a message that says what to do next. Talend Cloud's HTTP errors live in
:mod:`promoter.talend.errors` and derive from :class:`PromoterError` too.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``promoter`` command; CI pipelines branch on them."""

    OK = 0
    """Promoted and verified, or nothing to do."""
    FAILED_ROLLED_BACK = 1
    """The promotion failed and the target was rolled back cleanly."""
    INVALID_INPUT = 2
    """Invalid input (pipeline file, arguments, environment); nothing was written."""
    ROLLBACK_INCOMPLETE = 3
    """The promotion failed and the rollback did not restore the target completely."""
    BLOCKED = 4
    """A gate blocked the promotion before anything was written."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C); the run was rolled back or left resumable."""


class PromoterError(Exception):
    """Base class of every error promoter reports to a user."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigurationError(PromoterError):
    """Invalid settings: command-line flags, environment variables, credentials."""

    exit_code = ExitCode.INVALID_INPUT
