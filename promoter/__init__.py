"""promoter: promote data-integration releases through Talend Cloud environments.

This module is the public plugin API: ``hookimpl``, and every type a hook receives or returns.
A plugin needs nothing else::

    from promoter import GateDecision, Plan, RunContext, hookimpl

    @hookimpl
    def promoter_gate(run: RunContext, plan: Plan) -> GateDecision | None:
        ...

Attributes are imported lazily (PEP 562) so that ``promoter --version`` and plugin discovery
stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from promoter.__about__ import __version__

if TYPE_CHECKING:  # type checkers see the real names; at run time they are imported lazily
    from promoter.builtins.approvals import Approval as Approval
    from promoter.builtins.approvals import ApprovalFileError as ApprovalFileError
    from promoter.builtins.approvals import ApprovalMatch as ApprovalMatch
    from promoter.builtins.approvals import load_approvals as load_approvals
    from promoter.builtins.approvals import match_approval as match_approval
    from promoter.context import EarlierAttempts as EarlierAttempts
    from promoter.context import RunContext as RunContext
    from promoter.context import RunOptions as RunOptions
    from promoter.errors import ConfigurationError as ConfigurationError
    from promoter.errors import ExitCode as ExitCode
    from promoter.errors import GateBlocked as GateBlocked
    from promoter.errors import LockHeld as LockHeld
    from promoter.errors import PipelineError as PipelineError
    from promoter.errors import PluginError as PluginError
    from promoter.errors import PromoterError as PromoterError
    from promoter.errors import StageError as StageError
    from promoter.hooks.manager import get_plugin_manager as get_plugin_manager
    from promoter.hooks.markers import hookimpl as hookimpl
    from promoter.model import STAGES as STAGES
    from promoter.model import ApplyResult as ApplyResult
    from promoter.model import Change as Change
    from promoter.model import ChangeAction as ChangeAction
    from promoter.model import CheckResult as CheckResult
    from promoter.model import ExportBundle as ExportBundle
    from promoter.model import ExportedObject as ExportedObject
    from promoter.model import FieldChange as FieldChange
    from promoter.model import GateDecision as GateDecision
    from promoter.model import Mapping as Mapping
    from promoter.model import MappingProblem as MappingProblem
    from promoter.model import ObjectProgress as ObjectProgress
    from promoter.model import ObjectRef as ObjectRef
    from promoter.model import ObjectStatus as ObjectStatus
    from promoter.model import Plan as Plan
    from promoter.model import PromoterConfig as PromoterConfig
    from promoter.model import RollbackResult as RollbackResult
    from promoter.model import RunOutcome as RunOutcome
    from promoter.model import RunStatus as RunStatus
    from promoter.model import Snapshot as Snapshot
    from promoter.model import SnapshotEntry as SnapshotEntry
    from promoter.model import Stage as Stage
    from promoter.model import StageCall as StageCall
    from promoter.model import StageOutcome as StageOutcome
    from promoter.model import StageStatus as StageStatus
    from promoter.model import TargetMapping as TargetMapping
    from promoter.model import TargetRef as TargetRef
    from promoter.pipeline import Pipeline as Pipeline
    from promoter.pipeline import SecretRef as SecretRef
    from promoter.pipeline.templating import render_template as render_template
    from promoter.pipeline.templating import sandboxed_environment as sandboxed_environment
    from promoter.release import Promotion as Promotion
    from promoter.release import Release as Release
    from promoter.release import ReleaseSummary as ReleaseSummary
    from promoter.release import TargetHealth as TargetHealth
    from promoter.terminal import printable as printable

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY: dict[str, str] = {
    # errors
    "PromoterError": "promoter.errors",
    "ConfigurationError": "promoter.errors",
    "ExitCode": "promoter.errors",
    "PipelineError": "promoter.errors",
    "PluginError": "promoter.errors",
    "StageError": "promoter.errors",
    "GateBlocked": "promoter.errors",
    "LockHeld": "promoter.errors",
    # writing plugins
    "hookimpl": "promoter.hooks.markers",
    "get_plugin_manager": "promoter.hooks.manager",
    "printable": "promoter.terminal",
    "STAGES": "promoter.model",
    "Stage": "promoter.model",
    "StageCall": "promoter.model",
    "PromoterConfig": "promoter.model",
    "RunContext": "promoter.context",
    "EarlierAttempts": "promoter.context",
    "RunOptions": "promoter.context",
    "TargetRef": "promoter.model",
    "ObjectRef": "promoter.model",
    "ExportBundle": "promoter.model",
    "ExportedObject": "promoter.model",
    "TargetMapping": "promoter.model",
    "Mapping": "promoter.model",
    "MappingProblem": "promoter.model",
    "Plan": "promoter.model",
    "Change": "promoter.model",
    "ChangeAction": "promoter.model",
    "FieldChange": "promoter.model",
    "Snapshot": "promoter.model",
    "SnapshotEntry": "promoter.model",
    "ApplyResult": "promoter.model",
    "GateDecision": "promoter.model",
    "CheckResult": "promoter.model",
    "RollbackResult": "promoter.model",
    "ObjectProgress": "promoter.model",
    "ObjectStatus": "promoter.model",
    "StageOutcome": "promoter.model",
    "StageStatus": "promoter.model",
    "RunOutcome": "promoter.model",
    "RunStatus": "promoter.model",
    "SecretRef": "promoter.pipeline",
    "Pipeline": "promoter.pipeline",
    # releases and their history (run.release, run.history, promoter_target_health)
    "Release": "promoter.release",
    "ReleaseSummary": "promoter.release",
    "Promotion": "promoter.release",
    "TargetHealth": "promoter.release",
    # templates people write: Jinja2's sandbox, within limits
    "sandboxed_environment": "promoter.pipeline.templating",
    "render_template": "promoter.pipeline.templating",
    # approval files (the built-in approval gate's format, for plugins that count approvals)
    "Approval": "promoter.builtins.approvals",
    "ApprovalFileError": "promoter.builtins.approvals",
    "ApprovalMatch": "promoter.builtins.approvals",
    "load_approvals": "promoter.builtins.approvals",
    "match_approval": "promoter.builtins.approvals",
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
