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


class PipelineProblem:
    """One problem in a pipeline file: where it is (file, line, key) and what is wrong."""

    __slots__ = ("file", "key", "line", "message")

    def __init__(self, file: str, line: int | None, key: str | None, message: str) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The problem as a JSON-serialisable dictionary (for ``--output json``)."""
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.message}


class PipelineError(PromoterError):
    """A pipeline file is invalid: one or more problems, each with file, line and key."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: list[PipelineProblem], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = f"invalid pipeline ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]), hint=hint)


class PluginError(PromoterError):
    """A plugin cannot be loaded or does not match the hook specifications."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, plugin: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.plugin = plugin


class MissingStageError(PluginError):
    """No plugin implements a stage the run needs (nothing was written)."""

    def __init__(self, hook: str) -> None:
        super().__init__(
            "",
            f"no plugin implements {hook}; install or enable a stage plugin",
            hint="`promoter plugins` lists the loaded plugins and the hooks each one implements",
        )
        self.hook = hook


class StageError(PromoterError):
    """A stage failed; names the stage and the plugin whose code raised."""

    exit_code = ExitCode.FAILED_ROLLED_BACK

    def __init__(
        self, stage: str, plugin: str | None, message: str, *, hint: str | None = None
    ) -> None:
        where = f"stage {stage!r}" + (f" (plugin {plugin!r})" if plugin else "")
        super().__init__(f"{where} failed: {message}", hint=hint)
        self.stage = stage
        self.plugin = plugin
        self.reason = message


class GateBlocked(PromoterError):
    """A gate refused the promotion before anything was written."""

    exit_code = ExitCode.BLOCKED


class LockHeld(PromoterError):
    """Another run holds the target's lock (and did not release it within the wait)."""

    exit_code = ExitCode.BLOCKED

    def __init__(self, target: str, holder: str, *, hint: str | None = None) -> None:
        super().__init__(f"target {target} is locked by {holder}", hint=hint)
        self.target = target
        self.holder = holder


class RunNotFound(PromoterError):
    """No run in the ledger has the given id (or the prefix is ambiguous)."""

    exit_code = ExitCode.INVALID_INPUT


class RunStateError(PromoterError):
    """The run cannot do what was asked in its current state (e.g. resume a finished run)."""

    exit_code = ExitCode.INVALID_INPUT


class LedgerError(PromoterError):
    """The ledger cannot be opened or written."""

    exit_code = ExitCode.INVALID_INPUT
