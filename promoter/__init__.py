"""promoter: promote data-integration releases through Talend Cloud environments.

The public face of the package. Attributes are imported lazily so that ``promoter --version``
and plugin discovery stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from promoter.__about__ import __version__

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
