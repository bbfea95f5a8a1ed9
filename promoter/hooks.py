"""Typed calls into the plugins: the only code that touches ``pm.hook``.

Every method calls its hook with keyword arguments, checks the type of what came back, and turns an
exception raised inside a plugin into a :class:`~promoter.errors.StageError` that names the stage
and the plugin whose code raised.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import BaseModel

from promoter.errors import MissingStageError, PluginError, StageError
from promoter.run import (
    ApplyResult,
    CheckResult,
    ExportBundle,
    GateDecision,
    Mapping,
    ObjectProgress,
    Plan,
    RollbackResult,
    RunContext,
    RunOutcome,
    Snapshot,
    StageOutcome,
)

if TYPE_CHECKING:
    from promoter.engine import StageCall
    from promoter.plugins import PromoterConfig, PromoterPluginManager

M = TypeVar("M", bound=BaseModel)

STAGE_HOOKS: dict[str, str] = {
    "export": "promoter_export",
    "map": "promoter_map",
    "plan": "promoter_plan",
    "gate": "promoter_gate",
    "snapshot": "promoter_snapshot",
    "apply": "promoter_apply",
    "verify": "promoter_verify",
    "rollback": "promoter_rollback",
    "report": "promoter_report",
}
"""Stage name -> the hook that does its work."""


class PromoterHooks:
    """Typed, keyword-only access to the plugin manager's hooks."""

    def __init__(self, pm: PromoterPluginManager) -> None:
        self.pm = pm

    # --- introspection ----------------------------------------------------------------------

    def implementers(self, hook_name: str) -> list[str]:
        """Names of the plugins implementing ``hook_name`` (wrappers excluded), first-called first."""
        caller = getattr(self.pm.hook, hook_name)
        impls = [i for i in caller.get_hookimpls() if not (i.wrapper or i.hookwrapper)]
        return [i.plugin_name for i in reversed(impls)]

    def require(self, *hook_names: str) -> None:
        """Fail (exit 2, before anything is written) when a stage hook has no implementation."""
        for hook_name in hook_names:
            if not self.implementers(hook_name):
                raise MissingStageError(hook_name)

    def implementation_codes(self, *hook_names: str) -> dict[object, str]:
        """Code object -> plugin name, for every implementation of these hooks."""
        codes: dict[object, str] = {}
        for hook_name in hook_names:
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                code = getattr(impl.function, "__code__", None)
                if code is not None:
                    codes[code] = impl.plugin_name
        return codes

    def guilty_plugin(self, exc: BaseException, *hook_names: str) -> str | None:
        """The plugin whose hook implementation raised ``exc`` (the innermost one on the stack)."""
        codes = self.implementation_codes(*hook_names)
        found: str | None = None
        tb: TracebackType | None = exc.__traceback__
        while tb is not None:
            name = codes.get(tb.tb_frame.f_code)
            if name is not None:
                found = name
            tb = tb.tb_next
        return found

    def _stage_error(self, stage: str, exc: Exception, *hook_names: str) -> StageError:
        if isinstance(exc, StageError):
            return exc
        plugin = self.guilty_plugin(exc, *hook_names)
        error = StageError(stage, plugin, f"{type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error

    def _call(self, stage: str, hook_name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (KeyboardInterrupt, SystemExit, MissingStageError):
            raise
        except Exception as exc:
            error = self._stage_error(stage, exc, hook_name, "promoter_stage")
            if error is exc:
                raise  # already a StageError: `raise error from exc` would make it its own cause
            raise error from exc

    def _first(self, stage: str, hook_name: str, model: type[M], **kwargs: Any) -> M:
        result = self._call(stage, hook_name, lambda: getattr(self.pm.hook, hook_name)(**kwargs))
        if result is None:
            raise StageError(
                stage,
                None,
                f"every implementation of {hook_name} returned None",
                hint=f"enable a plugin that does the {stage} stage (`promoter plugins` lists them)",
            )
        if not isinstance(result, model):
            raise StageError(
                stage,
                self.implementers(hook_name)[0] if self.implementers(hook_name) else None,
                f"{hook_name} returned {type(result).__name__}, expected {model.__name__}",
            )
        return result

    # --- setup -------------------------------------------------------------------------------

    def configure(self, config: PromoterConfig) -> None:
        """Call ``promoter_configure`` historically (late plugins receive it on registration)."""
        self.pm.hook.promoter_configure.call_historic(kwargs={"config": config})

    def add_cli_options(self, command: str) -> list[click.Parameter]:
        """The options plugins contribute to ``command``."""
        options: list[click.Parameter] = []
        for result in self.pm.hook.promoter_add_cli_options(command=command):
            for option in result or []:
                if not isinstance(option, click.Parameter):
                    raise PluginError("", f"promoter_add_cli_options returned {option!r}")
                options.append(option)
        return options

    def register_pipeline_sections(self, register: Callable[[str, type[BaseModel]], None]) -> None:
        """Let plugins register their pipeline sections through ``register(name, model)``."""
        self.pm.hook.promoter_register_pipeline_sections(register=register)

    def check_run(self, *, run: RunContext) -> None:
        """``promoter_check_run`` (every plugin; a :class:`ConfigurationError` refuses the run)."""
        self.pm.hook.promoter_check_run(run=run)

    # --- events ------------------------------------------------------------------------------

    def run_started(self, *, run: RunContext) -> None:
        """``promoter_run_started``."""
        self.pm.hook.promoter_run_started(run=run)

    def run_finished(self, *, run: RunContext, outcome: RunOutcome) -> None:
        """``promoter_run_finished``."""
        self.pm.hook.promoter_run_finished(run=run, outcome=outcome)

    def before_stage(self, *, run: RunContext, stage: str) -> None:
        """``promoter_before_stage``; an exception fails the stage."""
        self._call(
            stage,
            "promoter_before_stage",
            lambda: self.pm.hook.promoter_before_stage(run=run, stage=stage),
        )

    def after_stage(self, *, run: RunContext, stage: str, outcome: StageOutcome) -> None:
        """``promoter_after_stage``."""
        self.pm.hook.promoter_after_stage(run=run, stage=stage, outcome=outcome)

    def on_stage_error(self, *, run: RunContext, stage: str, error: StageError) -> None:
        """``promoter_on_stage_error``."""
        self.pm.hook.promoter_on_stage_error(run=run, stage=stage, error=error)

    def progress(self, *, run: RunContext, event: ObjectProgress) -> None:
        """``promoter_progress``; a failing listener fails the stage, named as the culprit."""
        try:
            self.pm.hook.promoter_progress(run=run, event=event)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            raise self._stage_error(event.stage, exc, "promoter_progress") from exc

    # --- stages ------------------------------------------------------------------------------

    def stage(self, *, run: RunContext, stage: StageCall) -> Any:
        """Run one stage through ``promoter_stage`` (so wrappers see it)."""
        hook_name = STAGE_HOOKS[stage.name]
        return self._call(
            stage.name, hook_name, lambda: self.pm.hook.promoter_stage(run=run, stage=stage)
        )

    def export(self, *, run: RunContext) -> ExportBundle:
        """``promoter_export`` -> the bundle."""
        return self._first("export", "promoter_export", ExportBundle, run=run)

    def map(self, *, run: RunContext, bundle: ExportBundle) -> Mapping:
        """``promoter_map`` -> the mapping."""
        return self._first("map", "promoter_map", Mapping, run=run, bundle=bundle)

    def plan(self, *, run: RunContext, mapping: Mapping) -> Plan:
        """``promoter_plan`` -> the plan."""
        return self._first("plan", "promoter_plan", Plan, run=run, mapping=mapping)

    def snapshot(self, *, run: RunContext, plan: Plan) -> Snapshot:
        """``promoter_snapshot`` -> the snapshot."""
        return self._first("snapshot", "promoter_snapshot", Snapshot, run=run, plan=plan)

    def apply(self, *, run: RunContext, plan: Plan, snapshot: Snapshot) -> ApplyResult:
        """``promoter_apply`` -> what was applied."""
        return self._first(
            "apply", "promoter_apply", ApplyResult, run=run, plan=plan, snapshot=snapshot
        )

    def rollback(self, *, run: RunContext, snapshot: Snapshot, reason: str) -> RollbackResult:
        """``promoter_rollback`` -> whether the target equals the snapshot again."""
        return self._first(
            "rollback",
            "promoter_rollback",
            RollbackResult,
            run=run,
            snapshot=snapshot,
            reason=reason,
        )

    def gate(self, *, run: RunContext, plan: Plan) -> list[GateDecision]:
        """``promoter_gate`` -> every plugin's decisions, flattened."""
        results = self._call(
            "gate", "promoter_gate", lambda: self.pm.hook.promoter_gate(run=run, plan=plan)
        )
        return _flatten("gate", results, GateDecision)

    def verify(self, *, run: RunContext, plan: Plan) -> list[CheckResult]:
        """``promoter_verify`` -> every plugin's check results, flattened."""
        results = self._call(
            "verify", "promoter_verify", lambda: self.pm.hook.promoter_verify(run=run, plan=plan)
        )
        return _flatten("verify", results, CheckResult)

    def report(self, *, run: RunContext, outcome: RunOutcome) -> None:
        """``promoter_report`` (every plugin)."""
        self._call(
            "report",
            "promoter_report",
            lambda: self.pm.hook.promoter_report(run=run, outcome=outcome),
        )


def _flatten(stage: str, results: list[Any], model: type[M]) -> list[M]:
    flat: list[M] = []
    for result in results:
        items = result if isinstance(result, list | tuple) else [result]
        for item in items:
            if item is None:
                continue
            if not isinstance(item, model):
                raise StageError(
                    stage, None, f"a plugin returned {item!r}, expected {model.__name__}"
                )
            flat.append(item)
    return flat
