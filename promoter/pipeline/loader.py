"""Loading pipeline files: Jinja2-rendered YAML, validated by pydantic, with ``file:line: key:`` errors.

Loading a pipeline file goes through four steps; each reports every problem it finds as
``pipelines/release.yaml:12: targets[1].environment: field required``:

1. **render** the file (at most :data:`~promoter.pipeline.document.MAX_PIPELINE_FILE_SIZE`) with Jinja2 (``StrictUndefined``),
   in promoter's sandbox with its limits (:mod:`promoter.pipeline.templating`): ``--var k=v`` values are
   top-level names (and ``vars.k``), environment variables are ``env.NAME`` (not promoter's own);
2. **parse** the YAML (ruamel.yaml, which keeps line numbers; duplicate keys are errors), once its
   events have shown it within the limits of :mod:`promoter.pipeline.document`;
3. **load plugins** the file names under ``plugins:`` (paths relative to the file), so that they
   can register their sections;
4. **validate** the core sections with :class:`Pipeline` and each plugin section with the model its
   plugin registered (``extra="forbid"``: unknown keys are errors), and check that every secret
   reference can be resolved and may be — without keeping the value. A section named like a plugin
   that ``PROMOTER_DISABLE_PLUGINS`` blocks (``notify:`` of the ``notify`` plugin) is ignored.

Secrets are references — ``${env:NAME}`` or ``${file:path}`` — of type :class:`SecretRef`. They
stay references in the models, the ledger and every report; a stage resolves one only when it needs
the value, with ``run.secrets.resolve(ref)``. What a reference may read: :class:`Secrets`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from promoter.errors import PipelineError, PipelineProblem, PluginError
from promoter.pipeline.document import (
    MAX_PIPELINE_FILE_SIZE,
    Locator,
    key_on_line,
    key_path_on_line,
    parse_document,
    to_plain,
    too_big,
)
from promoter.pipeline.schema import CORE_SECTIONS, Pipeline
from promoter.pipeline.secrets import SecretRef, Secrets, is_own_setting

if TYPE_CHECKING:
    from promoter.hooks.calls import PromoterHooks

#: What starts a Jinja2 expression, statement or comment: a file without any is rendered as is.
TEMPLATE_DELIMITERS = ("{{", "{%", "{#")

# --- loading --------------------------------------------------------------------------------------

@dataclass
class LoadedPipeline:
    """A validated pipeline file: the model, plugin sections, and where it came from."""

    path: Path
    display: str
    """The path as the user gave it, used in messages."""
    sha256: str
    """Hash of the file as written (before rendering)."""
    pipeline: Pipeline
    sections: dict[str, BaseModel] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)
    """Names of the local plugins the file loaded."""
    secret_refs: list[SecretRef] = field(default_factory=list)
    """Every secret reference in the file, in any section (to mask values a run may meet)."""

    @property
    def base_dir(self) -> Path:
        """The pipeline file's directory (relative paths in it start here)."""
        return self.path.parent


class _EnvironmentVariables:
    """``env.NAME`` in templates; a missing variable is an error, like any undefined name.

    promoter's own variables (``TALEND_*``, ``PROMOTER_*``) are refused: the template would paste
    a credential into the file, and from there into Talend or a report."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        self._check(name)
        try:
            return self._environ[name]
        except KeyError:
            from jinja2 import UndefinedError

            raise UndefinedError(f"environment variable {name!r} is not set") from None

    def __getitem__(self, name: str) -> str:
        return self.__getattr__(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """``env.get('NAME', 'default')`` for optional variables."""
        self._check(name)
        return self._environ.get(name, default)

    @staticmethod
    def _check(name: str) -> None:
        if is_own_setting(name):
            from jinja2.exceptions import SecurityError

            raise SecurityError(
                f"environment variable {name} is one of promoter's own credentials and "
                "settings (TALEND_*, PROMOTER_*), which a pipeline file cannot read; use "
                "${env:...} references in the talend: section for credentials"
            )


class _PerTarget:
    """``values.NAME`` and ``target.environment`` at file level: kept as they are, for the stages
    to render for the selected target (a file's values differ per target; the file is rendered
    once)."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __getattr__(self, name: str) -> _PerTarget:
        if name.startswith("__"):
            raise AttributeError(name)
        return _PerTarget(f"{self._path}.{name}")

    def __getitem__(self, name: str) -> _PerTarget:
        return self.__getattr__(name)

    def __str__(self) -> str:
        return "{{ " + self._path + " }}"


@dataclass(frozen=True)
class SectionSpec:
    """A pipeline section a plugin registered: its model, whether the file must have it, whose."""

    model: type[BaseModel]
    required: bool
    owner: str
    """The name of the plugin that registered it."""
    credentials: bool = False
    """Whether the plugin authenticates promoter itself with the section's secret references
    (``talend: {token: ${env:TALEND_ACCESS_TOKEN}}``): only there may they name promoter's own
    variables (``TALEND_*``, ``PROMOTER_*``)."""


SectionRegistry = dict[str, SectionSpec]
"""Section name -> what the plugin registered."""


def collect_sections(hooks: PromoterHooks) -> SectionRegistry:
    """Ask plugins for their pipeline sections; a name registered twice names both plugins."""
    registry: SectionRegistry = {}
    owners = _module_owners(hooks)

    def register(
        name: str, model: type[BaseModel], *, required: bool = False, credentials: bool = False
    ) -> None:
        owner = hooks.calling_plugin("promoter_register_pipeline_sections") or owners.get(
            model.__module__, model.__module__
        )
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise PluginError(owner, f"section {name!r}: {model!r} is not a pydantic model")
        if name in CORE_SECTIONS:
            raise PluginError(
                owner, f"plugin {owner!r} registers section {name!r}, a built-in section"
            )
        if name in registry:
            other = registry[name].owner
            raise PluginError(
                owner,
                f"pipeline section {name!r} is registered by both {_describe(hooks, other)} "
                f"and {_describe(hooks, owner)}",
                hint="uninstall or disable (PROMOTER_DISABLE_PLUGINS) one of them",
            )
        registry[name] = SectionSpec(
            model=model, required=required, owner=owner, credentials=credentials
        )

    hooks.register_pipeline_sections(register)
    return registry


def load_pipeline(
    path: str | Path,
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    hooks: PromoterHooks | None = None,
) -> LoadedPipeline:
    """Render, parse and validate a pipeline file; load the local plugins it names.

    Raises :class:`PipelineError` listing every problem (``file:line: key: message``). Nothing is
    written anywhere. The file's ``plugins:`` are registered in ``hooks``' plugin manager, and
    plugin sections are validated by the models the plugins register; without ``hooks``, a plugin
    manager of the built-in plugins is used.
    """
    display = str(path)
    file = Path(path)
    env_vars = os.environ if environ is None else environ
    variables = dict(variables or {})
    try:
        # Bounded: the path may name anything (a device, a pipe, a huge file).
        with file.open(encoding="utf-8") as handle:
            raw_text = handle.read(MAX_PIPELINE_FILE_SIZE + 1)
    except FileNotFoundError:
        raise PipelineError(
            [PipelineProblem(display, None, None, "file not found")],
            hint="give the path of a pipeline file, e.g. pipelines/release.yaml",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError([PipelineProblem(display, None, None, f"cannot read: {exc}")]) from exc
    if len(raw_text) > MAX_PIPELINE_FILE_SIZE:
        raise PipelineError([PipelineProblem(display, None, None, too_big("the file"))])
    sha256 = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    raw_lines = raw_text.splitlines()

    rendered = _render(display, raw_text, raw_lines, variables, env_vars)
    if len(rendered) > MAX_PIPELINE_FILE_SIZE:
        raise PipelineError([PipelineProblem(display, None, None, too_big("the rendered file"))])
    document = parse_document(display, rendered)
    locator = Locator(display, document)

    base_dir = file.resolve().parent
    if hooks is None:
        from promoter.hooks.calls import PromoterHooks
        from promoter.hooks.manager import get_plugin_manager

        hooks = PromoterHooks(get_plugin_manager(load_entrypoints=False))
    loaded_plugins = _load_local_plugins(hooks, document, locator, base_dir)
    registry = collect_sections(hooks)

    data = to_plain(document)
    problems: list[PipelineProblem] = []
    # A section named like a plugin that PROMOTER_DISABLE_PLUGINS blocks is that plugin's
    # configuration: ignored with the plugin, rather than an unknown key.
    unregistered = {k for k in data if k not in registry and k not in CORE_SECTIONS}
    for name in unregistered:
        if hooks.pm.is_blocked(str(name)):
            del data[name]

    core = {k: v for k, v in data.items() if k not in registry}
    pipeline: Pipeline | None = None
    try:
        pipeline = Pipeline.model_validate(core)
    except ValidationError as exc:
        problems.extend(locator.from_validation(exc, Pipeline, ()))

    sections: dict[str, BaseModel] = {}
    for name, spec in registry.items():
        if name not in data:
            if spec.required:
                problems.append(locator.problem((name,), "field required"))
            continue
        try:
            # A section may check itself against the core keys (a hotfix promotes one artifact).
            sections[name] = spec.model.model_validate(data[name], context={"pipeline": pipeline})
        except ValidationError as exc:
            problems.extend(locator.from_validation(exc, spec.model, (name,)))

    secrets = Secrets(base_dir, env_vars)
    refs = list(_secret_refs(data, ()))
    credential_sections = {name for name, spec in registry.items() if spec.credentials}
    for loc, ref in refs:
        if isinstance(ref, SecretRef) and loc[0] in credential_sections:
            ref.promoter_credential = True  # the same object the section's model holds
        problem = (
            secrets.problem(ref)
            if isinstance(ref, SecretRef)
            else f"{ref} is not a valid secret reference; use ${{env:NAME}} or ${{file:path}}"
        )
        if problem is not None:
            problems.append(locator.problem(loc, problem))

    if pipeline is not None:
        problems.extend(_semantic_problems(pipeline, locator))

    if problems or pipeline is None:
        unique = {(p.line, p.key): p for p in reversed(problems)}  # the first one per key wins
        raise PipelineError(sorted(unique.values(), key=lambda p: (p.line or 0, p.key or "")))
    return LoadedPipeline(
        path=file.resolve(),
        display=display,
        sha256=sha256,
        pipeline=pipeline,
        sections=sections,
        plugins=loaded_plugins,
        secret_refs=list(dict.fromkeys(r for _, r in refs if isinstance(r, SecretRef))),
    )


def _render(
    display: str,
    text: str,
    lines: list[str],
    variables: dict[str, str],
    environ: Mapping[str, str],
) -> str:
    if not any(delimiter in text for delimiter in TEMPLATE_DELIMITERS):
        return text  # what rendering it would give: no Jinja2 needed (nor imported)
    import jinja2

    from promoter.pipeline import templating
    from promoter.pipeline.templating import SecurityError

    line: int | None
    jinja = templating.sandboxed_environment()
    context: dict[str, Any] = {
        "values": _PerTarget("values"),
        "target": _PerTarget("target"),
        **variables,
        "vars": variables,
        "env": _EnvironmentVariables(environ),
    }
    try:
        return templating.render(jinja.from_string(text), context)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno
        message = f"template syntax error: {exc.message}"
    except jinja2.UndefinedError as exc:
        line = templating.template_line(exc)
        message = f"undefined variable: {exc.message}"
        if "environment variable" not in (exc.message or ""):
            message += " (pass it with --var NAME=VALUE)"
    except (SecurityError, templating.TemplateLimitError) as exc:
        line = templating.template_line(exc)
        message = templating.describe(exc)
    except RecursionError as exc:  # parsing: an expression nested hundreds deep
        line = templating.template_line(exc)
        message = "template error: an expression is nested too deeply"
    except jinja2.TemplateError as exc:
        line = templating.template_line(exc)
        message = f"template error: {exc.message or exc}"
    except Exception as exc:  # e.g. a filter raising; Jinja2 still reports the template line
        line = templating.template_line(exc)
        message = f"template error: {type(exc).__name__}: {exc}"
    key = key_path_on_line(text, line) or key_on_line(lines, line)
    raise PipelineError([PipelineProblem(display, line, key, message)])


def _secret_refs(
    node: Any, loc: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], SecretRef | str]]:
    """Every secret reference in the document; a ``str`` is one with an unknown scheme."""
    if isinstance(node, SecretRef) or (isinstance(node, str) and SecretRef.looks_like(node)):
        yield loc, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _secret_refs(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secret_refs(value, (*loc, index))


def _lifecycle_problems(pipeline: Pipeline, locator: Locator) -> list[PipelineProblem]:
    """``after:`` names other targets, and the phases do not go round in a circle."""
    problems = []
    names = [t.environment for t in pipeline.targets]
    for index, target in enumerate(pipeline.targets):
        for position, phase in enumerate(target.after or []):
            if phase not in names or phase == target.environment:
                problems.append(
                    locator.problem(
                        ("targets", index, "after", position),
                        f"{phase!r} is not another target of this pipeline "
                        f"(targets: {', '.join(names)})",
                    )
                )
    if problems:
        return problems
    for index, name in enumerate(names):
        seen: set[str] = set()
        todo = pipeline.phases_before(name)
        while todo:
            phase = todo.pop()
            if phase == name:
                problems.append(
                    locator.problem(
                        ("targets", index, "after"),
                        f"the lifecycle goes round in a circle: {name} comes after itself",
                    )
                )
                break
            if phase not in seen:
                seen.add(phase)
                todo.extend(pipeline.phases_before(phase))
    return problems


def _semantic_problems(pipeline: Pipeline, locator: Locator) -> list[PipelineProblem]:
    problems = []
    seen: dict[str, int] = {}
    for index, target in enumerate(pipeline.targets):
        if target.environment in seen:
            problems.append(
                locator.problem(
                    ("targets", index, "environment"),
                    f"target environment {target.environment!r} is listed twice "
                    f"(also targets[{seen[target.environment]}])",
                )
            )
        seen.setdefault(target.environment, index)
        if (
            target.environment == pipeline.source.environment
            and pipeline.target_ref(target) == pipeline.source_ref()
        ):
            problems.append(
                locator.problem(
                    ("targets", index),
                    "the target is the source itself; name another environment or workspace",
                )
            )
    problems += _lifecycle_problems(pipeline, locator)
    for index, spec in enumerate(pipeline.plugins):
        if not spec.strip():
            problems.append(locator.problem(("plugins", index), "empty plugin name"))
    return problems


def _load_local_plugins(
    hooks: PromoterHooks, document: Any, locator: Locator, base_dir: Path
) -> list[str]:
    specs = document.get("plugins") or []
    if not isinstance(specs, list):
        return []  # validation reports the wrong type
    names = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, str) or not spec.strip():
            continue
        try:
            name = hooks.pm.load_module(spec.strip(), base_dir=base_dir, source="pipeline")
        except PluginError as exc:
            raise PipelineError(
                [locator.problem(("plugins", index), exc.message)], hint=exc.hint
            ) from exc
        if name is not None:
            names.append(name)
    try:
        hooks.pm.check()
    except PluginError as exc:
        raise PipelineError([locator.problem(("plugins",), exc.message)], hint=exc.hint) from exc
    return names


def _module_owners(hooks: PromoterHooks) -> dict[str, str]:
    owners: dict[str, str] = {}
    for name, plugin in hooks.pm.list_name_plugin():
        if plugin is None:
            continue
        module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
        owners.setdefault(module, name)
    return owners


def _describe(hooks: PromoterHooks, plugin: str) -> str:
    origin = hooks.pm.origins.get(plugin)
    if origin is not None and origin.distribution:
        return f"plugin {plugin!r} (distribution {origin.distribution} {origin.version})"
    return f"plugin {plugin!r}"


def parse_variables(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["k=v", ...]`` from ``--var`` into a dict; raises ``ValueError`` for a pair without ``=``."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--var {pair!r}: expected NAME=VALUE")
        result[key.strip()] = value
    return result


def template_variables(path: str | Path) -> set[str]:
    """The names a ``--var`` may set for the pipeline file at ``path``: what its template reads.

    Those are the template's undeclared top-level names (``{{ version }}``), the constant names it
    reads from ``vars`` (``{{ vars.version }}``, ``vars['version']``, ``vars.get('version')``)
    and from ``values`` (a ``--var`` overrides a target's value, ``{{ values.log_level }}``) —
    not ``env``, ``target``, nor names the template sets itself. When the template reads ``vars``
    any other way (``{% for name in vars %}``), the result holds ``"vars"``: then any name may be
    read. The file is parsed, never rendered; one that cannot be read or parsed raises
    :class:`PipelineError` (:func:`load_pipeline` says what is wrong with it).
    """
    import jinja2
    from jinja2 import meta, nodes

    from promoter.pipeline import templating

    display = str(path)
    try:
        with Path(path).open(encoding="utf-8") as handle:
            text = handle.read(MAX_PIPELINE_FILE_SIZE + 1)
        if len(text) > MAX_PIPELINE_FILE_SIZE:
            raise PipelineError([PipelineProblem(display, None, None, too_big("the file"))])
        tree = templating.sandboxed_environment().parse(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError([PipelineProblem(display, None, None, f"cannot read: {exc}")]) from exc
    except (jinja2.TemplateSyntaxError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, jinja2.TemplateSyntaxError) else None
        raise PipelineError([PipelineProblem(display, line, None, "template syntax error")]) from exc
    containers = {"vars", "values"}
    names = set(meta.find_undeclared_variables(tree)) - {"env", "target", *containers}
    read_by_name: set[int] = set()  # the ``vars``/``values`` Name nodes read with a constant

    def container(node: nodes.Node) -> bool:
        return isinstance(node, nodes.Name) and node.ctx == "load" and node.name in containers

    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        if isinstance(node, nodes.Getattr) and container(node.node) and node.attr != "get":
            names.add(node.attr)
            read_by_name.add(id(node.node))
        elif (
            isinstance(node, nodes.Getitem)
            and container(node.node)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            names.add(node.arg.value)
            read_by_name.add(id(node.node))
        elif (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr == "get"
            and container(node.node.node)
            and node.args
            and isinstance(node.args[0], nodes.Const)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
            read_by_name.add(id(node.node.node))
    for name in tree.find_all(nodes.Name):
        if name.name == "vars" and name.ctx == "load" and id(name) not in read_by_name:
            names.add("vars")  # read as a whole: any --var may be used
    return names
