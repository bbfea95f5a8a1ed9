"""promoter: promote data-integration releases through Talend Cloud environments.

The public face of the package. Attributes are imported lazily so that ``promoter --version``
and plugin discovery stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from promoter.__about__ import __version__

if TYPE_CHECKING:  # type checkers see the real names; at run time they are imported lazily
    from promoter.errors import (
        ConfigurationError as ConfigurationError,
    )
    from promoter.errors import (
        ExitCode as ExitCode,
    )
    from promoter.errors import (
        GateBlocked as GateBlocked,
    )
    from promoter.errors import (
        LockHeld as LockHeld,
    )
    from promoter.errors import (
        PipelineError as PipelineError,
    )
    from promoter.errors import (
        PluginError as PluginError,
    )
    from promoter.errors import (
        PromoterError as PromoterError,
    )
    from promoter.errors import (
        StageError as StageError,
    )
    from promoter.hookspecs import hookimpl as hookimpl
    from promoter.pipeline import Pipeline as Pipeline
    from promoter.pipeline import SecretRef as SecretRef
    from promoter.plugins import get_plugin_manager as get_plugin_manager
    from promoter.run import (
        ApplyResult as ApplyResult,
    )
    from promoter.run import (
        Change as Change,
    )
    from promoter.run import (
        ChangeAction as ChangeAction,
    )
    from promoter.run import (
        CheckResult as CheckResult,
    )
    from promoter.run import (
        ExportBundle as ExportBundle,
    )
    from promoter.run import (
        ExportedObject as ExportedObject,
    )
    from promoter.run import (
        FieldChange as FieldChange,
    )
    from promoter.run import (
        GateDecision as GateDecision,
    )
    from promoter.run import (
        Mapping as Mapping,
    )
    from promoter.run import (
        MappingProblem as MappingProblem,
    )
    from promoter.run import (
        ObjectRef as ObjectRef,
    )
    from promoter.run import (
        Plan as Plan,
    )
    from promoter.run import (
        RollbackResult as RollbackResult,
    )
    from promoter.run import (
        RunContext as RunContext,
    )
    from promoter.run import (
        RunOutcome as RunOutcome,
    )
    from promoter.run import (
        RunStatus as RunStatus,
    )
    from promoter.run import (
        Snapshot as Snapshot,
    )
    from promoter.run import (
        SnapshotEntry as SnapshotEntry,
    )
    from promoter.run import (
        StageOutcome as StageOutcome,
    )
    from promoter.run import (
        TargetRef as TargetRef,
    )

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY: dict[str, str] = {
    "PromoterError": "promoter.errors",
    "ConfigurationError": "promoter.errors",
    "ExitCode": "promoter.errors",
    "PipelineError": "promoter.errors",
    "PluginError": "promoter.errors",
    "StageError": "promoter.errors",
    "GateBlocked": "promoter.errors",
    "LockHeld": "promoter.errors",
    # writing plugins
    "hookimpl": "promoter.hookspecs",
    "RunContext": "promoter.run",
    "TargetRef": "promoter.run",
    "ObjectRef": "promoter.run",
    "ExportBundle": "promoter.run",
    "ExportedObject": "promoter.run",
    "Mapping": "promoter.run",
    "MappingProblem": "promoter.run",
    "Plan": "promoter.run",
    "Change": "promoter.run",
    "ChangeAction": "promoter.run",
    "FieldChange": "promoter.run",
    "Snapshot": "promoter.run",
    "SnapshotEntry": "promoter.run",
    "ApplyResult": "promoter.run",
    "GateDecision": "promoter.run",
    "CheckResult": "promoter.run",
    "RollbackResult": "promoter.run",
    "StageOutcome": "promoter.run",
    "RunOutcome": "promoter.run",
    "RunStatus": "promoter.run",
    "SecretRef": "promoter.pipeline",
    "Pipeline": "promoter.pipeline",
    "get_plugin_manager": "promoter.plugins",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'promoter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
