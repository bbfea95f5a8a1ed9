"""Typed calls into the plugins: the only code that touches ``pm.hook``.

Every method calls its hook with keyword arguments, checks the type of what came back, and turns an
exception raised inside a plugin into a :class:`~promoter.errors.StageError` that names the stage
and the plugin whose code raised.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import BaseModel

from promoter.context import RunContext
from promoter.errors import MissingStageError, PluginError, StageError
from promoter.model import (
    ObjectProgress,
    RunOutcome,
    Stage,
    StageCall,
    StageOutcome,
    TargetRef,
)
from promoter.release import Release, TargetHealth

if TYPE_CHECKING:
    from promoter.hooks.manager import PromoterPluginManager
    from promoter.model import PromoterConfig

M = TypeVar("M", bound=BaseModel)


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

    def calling_plugin(self, hook_name: str) -> str | None:
        """The plugin whose implementation of ``hook_name`` is on the call stack right now (for
        registries: who calls ``register(...)``)."""
        codes = self.implementation_codes(hook_name)
        frame = sys._getframe(1)
        while frame is not None:
            owner = codes.get(frame.f_code)
            if owner is not None:
                return owner
            frame = frame.f_back  # type: ignore[assignment]
        return None

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

    def register_commands(self, register: Callable[[str, click.Command | str], None]) -> None:
        """Let plugins add commands through ``register(name, command)``."""
        self.pm.hook.promoter_register_commands(register=register)

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

    def after_stage(
        self, *, run: RunContext, stage: str, outcome: StageOutcome, result: Any = None
    ) -> None:
        """``promoter_after_stage``."""
        self.pm.hook.promoter_after_stage(run=run, stage=stage, outcome=outcome, result=result)

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

    def is_first_result(self, stage: Stage[Any]) -> bool:
        """Whether one plugin does ``stage`` (its hook is ``firstresult``), as pluggy knows it."""
        spec = getattr(self.pm.hook, stage.hook).spec
        return bool(spec is not None and spec.opts.get("firstresult"))

    def stage(self, *, run: RunContext, call: StageCall) -> Any:
        """Run one stage through ``promoter_stage`` (so wrappers see it)."""
        return self._call(
            call.name, call.stage.hook, lambda: self.pm.hook.promoter_stage(run=run, stage=call)
        )

    def first(self, stage: Stage[M], **kwargs: Any) -> M:
        """Call a ``firstresult`` stage hook; its result, checked against ``stage.result``."""
        hook_name = stage.hook
        result = self._call(
            stage.name, hook_name, lambda: getattr(self.pm.hook, hook_name)(**kwargs)
        )
        if result is None:
            raise StageError(
                stage.name,
                None,
                f"every implementation of {hook_name} returned None",
                hint=f"enable a plugin that does the {stage.name} stage (`promoter plugins` lists them)",
            )
        if not isinstance(result, stage.result):
            implementers = self.implementers(hook_name)
            raise StageError(
                stage.name,
                implementers[0] if implementers else None,
                f"{hook_name} returned {type(result).__name__}, expected {stage.result.__name__}",
            )
        return result

    def collect(self, stage: Stage[M], **kwargs: Any) -> list[M]:
        """Call a collecting stage hook: every plugin's results, flattened and type-checked."""
        hook_name = stage.hook
        results = self._call(
            stage.name, hook_name, lambda: getattr(self.pm.hook, hook_name)(**kwargs)
        )
        flat: list[M] = []
        for result in results:
            items = result if isinstance(result, list | tuple) else [result]
            for item in items:
                if item is None:
                    continue
                if not isinstance(item, stage.result):
                    raise StageError(
                        stage.name,
                        None,
                        f"a plugin returned {item!r}, expected {stage.result.__name__}",
                    )
                flat.append(item)
        return flat

    def target_health(
        self, *, run: RunContext, target: TargetRef, release: Release, since: datetime
    ) -> TargetHealth | None:
        """``promoter_target_health`` (the first answer), checked."""
        result = self._call(
            "gate",
            "promoter_target_health",
            lambda: self.pm.hook.promoter_target_health(
                run=run, target=target, release=release, since=since
            ),
        )
        if result is not None and not isinstance(result, TargetHealth):
            raise PluginError(
                ", ".join(self.implementers("promoter_target_health")),
                f"promoter_target_health returned {type(result).__name__}, not TargetHealth",
            )
        return result

    def report(self, *, run: RunContext, outcome: RunOutcome) -> None:
        """``promoter_report`` (every plugin)."""
        self._call(
            "report",
            "promoter_report",
            lambda: self.pm.hook.promoter_report(run=run, outcome=outcome),
        )

    def execution_log(
        self, *, run: RunContext, execution_id: str, start: int, count: int
    ) -> dict[str, Any] | None:
        """``promoter_execution_log`` (the first answer), checked: a mapping whose ``lines`` is a
        list (a pydantic model is taken as its JSON form)."""
        result = self._call(
            "log",
            "promoter_execution_log",
            lambda: self.pm.hook.promoter_execution_log(
                run=run, execution_id=execution_id, start=start, count=count
            ),
        )
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        if result is not None and not (
            isinstance(result, dict) and isinstance(result.get("lines"), list)
        ):
            plugins = ", ".join(self.implementers("promoter_execution_log"))
            raise PluginError(
                plugins,
                f"promoter_execution_log returned {type(result).__name__}, not a mapping with "
                f"a list of lines (implemented by: {plugins})",
            )
        return result
