"""Plugin discovery and loading: built-ins, entry points, ``-p`` modules and local plugin files.

Plugins come from four places, registered in this order:

1. :data:`BUILTIN_PLUGINS` — promoter's own, registered exactly like third-party plugins (their
   hook implementations are ``trylast`` so that any other plugin overrides them);
2. the ``promoter`` entry-point group of installed distributions;
3. ``-p MODULE`` (a module name, or a path to a ``.py`` file) on the command line;
4. the ``plugins:`` list of a pipeline file (paths relative to the pipeline file).

``PROMOTER_DISABLE_PLUGINS=name,other`` blocks plugins by name (the entry-point name, the module
name, or a local file's stem); the :data:`ESSENTIAL_PLUGINS` cannot be blocked. No plugin manager
is built at import time: call :func:`get_plugin_manager`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from promoter.__about__ import __version__
from promoter.errors import PluginError
from promoter.hooks import specs
from promoter.hooks.markers import PROJECT_NAME

ENTRY_POINT_GROUP = PROJECT_NAME
"""Distributions register plugins under this entry-point group: ``[project.entry-points.promoter]``."""

DISABLE_ENV = "PROMOTER_DISABLE_PLUGINS"
"""Environment variable: comma-separated names of plugins not to load."""

BUILTIN_PLUGINS: dict[str, str] = {
    # The engine's own: platform-neutral, using only the public plugin API.
    "core": "promoter.builtins.core",
    "gates": "promoter.builtins.gates",
    "lifecycle": "promoter.builtins.lifecycle",
    "console": "promoter.builtins.console",
    "reports": "promoter.builtins.reports",
    # The Talend Cloud platform: a plugin like any other, one module per stage.
    "talend": "promoter.talend.plugin",
    "talend-export": "promoter.talend.plugin.export",
    "talend-map": "promoter.talend.plugin.mapping",
    "talend-plan": "promoter.talend.plugin.planning",
    "talend-snapshot": "promoter.talend.plugin.snapshot",
    "talend-apply": "promoter.talend.plugin.apply",
    "talend-verify": "promoter.talend.plugin.verify",
    "talend-rollback": "promoter.talend.plugin.rollback",
    "talend-health": "promoter.talend.plugin.health",
    "talend-logs": "promoter.talend.plugin.logs",
    "release-gates": "promoter.talend.plugin.gates",
}
"""Built-in plugin name -> module (pytest's ``default_plugins``). Registered first, exactly like
third-party plugins; their hook implementations are ``trylast`` so that any other plugin
overrides them. Names are what ``PROMOTER_DISABLE_PLUGINS`` blocks."""

ESSENTIAL_PLUGINS: frozenset[str] = frozenset({"core"})
"""Built-in plugins that ``PROMOTER_DISABLE_PLUGINS`` cannot block (the engine needs them)."""


@dataclass(frozen=True)
class PluginOrigin:
    """Where a registered plugin came from, for ``promoter plugins`` and error messages."""

    source: str
    """``builtin``, ``entrypoint``, ``cli`` (``-p``), ``pipeline`` or ``object`` (registered in code)."""
    location: str
    """The module name or file path."""
    distribution: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin: its name, origin and the hooks it implements."""

    name: str
    origin: PluginOrigin
    hooks: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for ``promoter plugins --output json``."""
        return {
            "name": self.name,
            "source": self.origin.source,
            "location": self.origin.location,
            "distribution": self.origin.distribution,
            "version": self.origin.version,
            "hooks": list(self.hooks),
        }


class PromoterPluginManager(pluggy.PluginManager):
    """A pluggy plugin manager that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(specs)
        self.origins: dict[str, PluginOrigin] = {}

    def register_plugin(self, plugin: object, name: str, origin: PluginOrigin) -> bool:
        """Register ``plugin`` under ``name``; return ``False`` if blocked or already there.

        Raises :class:`PluginError` naming the plugin when its hooks do not match the specs, or
        when another plugin already has that name (naming both origins).
        """
        if self.is_blocked(name):
            return False
        if self.is_registered(plugin):
            return False
        if self.has_plugin(name):
            other = self.origins.get(name)
            if other is not None and _same_distribution(other, origin):
                return False  # the same entry point listed twice (e.g. an editable install)
            raise PluginError(
                name,
                f"two plugins are named {name!r}: {_describe_origin(other)} and "
                f"{_describe_origin(origin)}",
                hint=f"rename one, or block one with {DISABLE_ENV}={name}",
            )
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                name,
                f"plugin {name!r} ({origin.location}) does not match promoter's hooks: {exc}",
                hint="check the hook names and arguments against docs/hooks.md",
            ) from exc
        except ValueError as exc:
            raise PluginError(name, f"cannot register plugin {name!r}: {exc}") from exc
        self.origins[name] = origin
        return True

    def load_module(
        self, spec: str, *, base_dir: Path | None = None, source: str = "cli"
    ) -> str | None:
        """Import and register a plugin given as a module name or a ``.py`` path.

        Paths are relative to ``base_dir`` (the pipeline file's directory) or the working
        directory. Returns the plugin's name, or ``None`` when it is blocked.
        """
        if looks_like_path(spec):
            path = Path(spec)
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            path = path.resolve()
            name = path.stem
            if self.is_blocked(name):
                return None
            module = _import_file(name, path)
            location = str(path)
        else:
            name = spec
            if self.is_blocked(name):
                return None
            try:
                module = importlib.import_module(spec)
            except Exception as exc:
                raise PluginError(
                    name,
                    f"Error importing plugin {name!r}: {type(exc).__name__}: {exc}",
                    hint="check that the module is installed and importable",
                ) from exc
            location = spec
        self.register_plugin(module, name, PluginOrigin(source=source, location=location))
        return name

    def load_entrypoints(self) -> None:
        """Register every plugin of the ``promoter`` entry-point group that is not blocked."""
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if self.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    ep.name,
                    f"Error importing plugin {ep.name!r} ({ep.value}): {type(exc).__name__}: {exc}",
                    hint=f"fix or uninstall it, or set {DISABLE_ENV}={ep.name}",
                ) from exc
            dist = ep.dist
            origin = PluginOrigin(
                source="entrypoint",
                location=ep.value,
                distribution=dist.name if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            self.register_plugin(plugin, ep.name, origin)

    def check(self) -> None:
        """``check_pending()``, with an error that names the plugin of the unknown hook."""
        try:
            self.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.get_name(exc.plugin) or repr(exc.plugin)
            raise PluginError(
                name,
                f"plugin {name!r} implements a hook promoter does not know: {exc}",
                hint="hooks are listed in docs/hooks.md; prefix helpers without `promoter_`",
            ) from exc

    def infos(self) -> list[PluginInfo]:
        """Every registered plugin with its origin and implemented hooks, in registration order."""
        result = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or [])
            origin = self.origins.get(name, PluginOrigin(source="object", location=repr(plugin)))
            result.append(PluginInfo(name=name, origin=origin, hooks=tuple(hooks)))
        return result

    def name_of(self, plugin: object) -> str:
        """The name a plugin object is registered under (or its repr)."""
        return self.get_name(plugin) or repr(plugin)


def disabled_plugins(environ: dict[str, str] | os._Environ[str] | None = None) -> set[str]:
    """The plugin names blocked by ``PROMOTER_DISABLE_PLUGINS`` (minus the essential ones)."""
    raw = (environ if environ is not None else os.environ).get(DISABLE_ENV, "")
    return {n.strip() for n in raw.split(",") if n.strip()} - ESSENTIAL_PLUGINS


def get_plugin_manager(
    load_entrypoints: bool = True,
    extra: Sequence[str | object] = (),
    *,
    base_dir: Path | None = None,
    disabled: Iterable[str] | None = None,
) -> PromoterPluginManager:
    """Build a plugin manager: built-ins, entry points, then ``extra`` plugins.

    Parameters:
        load_entrypoints: also load the ``promoter`` entry-point group.
        extra: ``-p`` style specs (module names or ``.py`` paths, relative to ``base_dir``) or
            plugin objects (modules, class instances) to register.
        base_dir: where relative plugin paths are resolved (default: the working directory).
        disabled: names to block; default: from ``PROMOTER_DISABLE_PLUGINS``.

    Does not call ``check_pending()``: call :meth:`PromoterPluginManager.check` once every plugin
    (including a pipeline's) is registered.
    """
    pm = PromoterPluginManager()
    for name in disabled_plugins() if disabled is None else set(disabled) - ESSENTIAL_PLUGINS:
        pm.set_blocked(name)
    for name, module_name in BUILTIN_PLUGINS.items():
        if pm.is_blocked(name):
            continue
        module = importlib.import_module(module_name)
        origin = PluginOrigin(
            source="builtin", location=module_name, distribution="promoter", version=__version__
        )
        pm.register_plugin(module, name, origin)
    if load_entrypoints:
        pm.load_entrypoints()
    for item in extra:
        if isinstance(item, str):
            pm.load_module(item, base_dir=base_dir, source="cli")
        else:
            found = getattr(item, "name", None) or getattr(item, "__name__", None)
            name = found if isinstance(found, str) else type(item).__name__
            pm.register_plugin(item, name, PluginOrigin(source="object", location=repr(item)))
    return pm


def _same_distribution(a: PluginOrigin, b: PluginOrigin) -> bool:
    return a.distribution is not None and (a.distribution, a.location) == (
        b.distribution,
        b.location,
    )


def _describe_origin(origin: PluginOrigin | None) -> str:
    if origin is None:
        return "a plugin registered in code"
    if origin.distribution:
        return f"{origin.source} {origin.location} (distribution {origin.distribution} {origin.version})"
    return f"{origin.source} {origin.location}"


def looks_like_path(spec: str) -> bool:
    """Whether a ``-p`` or ``plugins:`` spec is a file path (rather than a module name)."""
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def _import_file(name: str, path: Path) -> ModuleType:
    """Import a local plugin file under a private module name; errors name the plugin."""
    if not path.is_file():
        raise PluginError(
            name,
            f"Error importing plugin {name!r}: file {path} does not exist",
            hint="plugin paths in a pipeline are relative to the pipeline file",
        )
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    module_name = f"promoter_local_plugins.{name}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for odd file names
        raise PluginError(name, f"Error importing plugin {name!r}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise PluginError(
            name,
            f"Error importing plugin {name!r} ({path}): {type(exc).__name__}: {exc}",
            hint="fix the plugin file, or remove it from the pipeline's `plugins:` list",
        ) from exc
    return module
