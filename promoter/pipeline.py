"""Pipeline files: Jinja2-rendered YAML, validated by pydantic, with ``file:line: key:`` errors.

Loading a pipeline file goes through four steps; each reports every problem it finds as
``pipelines/release.yaml:12: targets[1].environment: field required``:

1. **render** the file with Jinja2 (``StrictUndefined``): ``--var k=v`` values are top-level names
   (and ``vars.k``), environment variables are ``env.NAME``;
2. **parse** the YAML (ruamel.yaml, which keeps line numbers; duplicate keys are errors);
3. **load plugins** the file names under ``plugins:`` (paths relative to the file), so that they
   can register their sections;
4. **validate** the core sections with :class:`Pipeline` and each plugin section with the model its
   plugin registered (``extra="forbid"``: unknown keys are errors), and check that every secret
   reference can be resolved — without keeping the value. A section named like a plugin that
   ``PROMOTER_DISABLE_PLUGINS`` blocks (``notify:`` of the ``notify`` plugin) is ignored.

Secrets are references — ``${env:NAME}`` or ``${file:path}`` — of type :class:`SecretRef`. They
stay references in the models, the ledger and every report; a stage resolves one only when it needs
the value, with ``run.secrets.resolve(ref)``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

import jinja2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from promoter.errors import PipelineError, PipelineProblem, PluginError
from promoter.run import TargetRef

if TYPE_CHECKING:
    from promoter.hooks import PromoterHooks

# --- secrets --------------------------------------------------------------------------------------

SECRET_REF_PATTERN = re.compile(r"^\$\{(?P<scheme>[A-Za-z_][\w-]*):(?P<name>[^}]+)\}$")
SECRET_SCHEMES = ("env", "file")


class SecretRef:
    """A reference to a secret: ``${env:NAME}`` or ``${file:path}``; never the value itself.

    ``str(ref)`` is the reference text, so printing, logging or storing a ``SecretRef`` never
    discloses the secret. Resolve it with ``run.secrets.resolve(ref)``.
    """

    __slots__ = ("name", "scheme")

    def __init__(self, scheme: str, name: str) -> None:
        if scheme not in SECRET_SCHEMES:
            raise ValueError(
                f"unknown secret scheme {scheme!r}; use ${{env:NAME}} or ${{file:path}}"
            )
        self.scheme = scheme
        self.name = name

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """Parse ``${scheme:name}``; raises ``ValueError`` for anything else."""
        match = SECRET_REF_PATTERN.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a secret reference like ${{env:NAME}}")
        return cls(match["scheme"], match["name"].strip())

    @staticmethod
    def looks_like(text: str) -> bool:
        """Whether ``text`` is written as a secret reference (``${...:...}``)."""
        return SECRET_REF_PATTERN.match(text.strip()) is not None

    def __str__(self) -> str:
        return f"${{{self.scheme}:{self.name}}}"

    def __repr__(self) -> str:
        return f"SecretRef({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretRef) and (self.scheme, self.name) == (
            other.scheme,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.scheme, self.name))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_str = core_schema.no_info_after_validator_function(cls.parse, core_schema.str_schema())
        return core_schema.union_schema(
            [core_schema.is_instance_schema(cls), from_str],
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


class Secrets:
    """Resolves secret references for stages, and masks resolved values in text.

    ``${env:NAME}`` reads the environment; ``${file:path}`` reads a file (relative to the pipeline
    file's directory), stripped of surrounding whitespace. Values are not cached or stored; the
    resolved values are remembered only to :meth:`redact` them from messages.
    """

    MASK = "***"

    def __init__(self, base_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.base_dir = base_dir
        self._environ = environ
        self._seen: set[str] = set()

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment references are resolved against."""
        return os.environ if self._environ is None else self._environ

    def problem(self, ref: SecretRef) -> str | None:
        """Why ``ref`` cannot be resolved, or ``None`` when it can (the value is not kept)."""
        if ref.scheme == "env":
            if ref.name not in self.environ:
                return (
                    f"secret {ref} cannot be resolved: environment variable {ref.name} is not set"
                )
            return None
        path = self._path(ref)
        if not path.is_file():
            return f"secret {ref} cannot be resolved: file {path} does not exist"
        if not os.access(path, os.R_OK):
            return f"secret {ref} cannot be resolved: file {path} is not readable"
        return None

    def resolve(self, ref: SecretRef | str) -> str:
        """The secret's value. Never store, log or report it."""
        if isinstance(ref, str):
            ref = SecretRef.parse(ref)
        problem = self.problem(ref)
        if problem is not None:
            from promoter.errors import ConfigurationError

            raise ConfigurationError(problem, hint="set it, then resume the run")
        if ref.scheme == "env":
            value = self.environ[ref.name]
        else:
            value = self._path(ref).read_text(encoding="utf-8").strip()
        if len(value) >= 3:
            self._seen.add(value)
        return value

    def redact(self, text: str) -> str:
        """``text`` with every secret value resolved so far replaced by ``***``."""
        for value in sorted(self._seen, key=len, reverse=True):
            text = text.replace(value, self.MASK)
        return text

    def _path(self, ref: SecretRef) -> Path:
        path = Path(ref.name).expanduser()
        return path if path.is_absolute() else self.base_dir / path


# --- the pipeline model ---------------------------------------------------------------------------

Value = SecretRef | bool | int | float | str | None
"""A configuration value: a scalar, or a secret reference."""


class StrictModel(BaseModel):
    """User configuration: unknown keys are errors (typos fail loudly)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class SourceConfig(StrictModel):
    """Where the release comes from."""

    environment: str = Field(min_length=1)
    workspace: str = Field(min_length=1)


class TargetConfig(StrictModel):
    """One target of the pipeline; ``--target ENV`` picks one (default: the first)."""

    environment: str = Field(min_length=1)
    workspace: str | None = Field(default=None, min_length=1)
    """Defaults to the source's workspace name."""
    approval: Literal["none", "required"] = "none"
    values: dict[str, Value] = Field(default_factory=dict)
    """Per-target values (connection hosts...), available to stages as ``run.values``."""


class ArtifactConfig(StrictModel):
    """An artifact to promote and which version: exact, ``latest``, or a glob pattern."""

    name: str = Field(min_length=1)
    version: str = Field(default="latest", min_length=1)


class CreateMissingConnections(StrictModel):
    """Create a connection the target lacks from a Jinja2 template (in ``templates/``)."""

    template: str = Field(min_length=1)
    values: dict[str, Value] = Field(default_factory=dict)


class ConnectionsConfig(StrictModel):
    """Connection mapping: source name -> target name (or per environment: ``{env: name}``)."""

    map: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    create_missing: CreateMissingConnections | None = None


class ParametersConfig(StrictModel):
    """How task parameters are set on the target."""

    policy: Literal["keep-target", "override", "template", "add-new-only"] = "keep-target"
    values: dict[str, Value] = Field(default_factory=dict)
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    """Secured parameter values: references only (``${env:NAME}`` / ``${file:path}``)."""


class ApplyConfig(StrictModel):
    """How the plan is written: Talend's native promotion, or direct writes."""

    strategy: Literal["direct", "native"] = "direct"
    concurrency: int = Field(default=8, ge=1, le=64)


class SmokeTest(StrictModel):
    """A task to run after apply, and what its execution must look like."""

    task: str = Field(min_length=1)
    timeout: float = Field(default=300, gt=0)
    expect: Literal["execution_successful", "execution_failed"] = "execution_successful"
    parameters: dict[str, Value] = Field(default_factory=dict)
    max_rejected_rows: int | None = Field(default=None, ge=0)
    log_must_contain: list[str] = Field(default_factory=list)
    log_must_not_contain: list[str] = Field(default_factory=list)


class VerifyConfig(StrictModel):
    """Checks after apply; a failure rolls the promotion back."""

    smoke: list[SmokeTest] = Field(default_factory=list)


class FreezeWindow(StrictModel):
    """No promotion (to the listed environments, or all) between ``start`` and ``end``."""

    start: datetime
    end: datetime
    environments: list[str] | None = None
    reason: str = "change freeze"

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def covers(self, moment: datetime, environment: str) -> bool:
        """Whether the window freezes ``environment`` at ``moment``."""
        in_scope = self.environments is None or environment in self.environments
        return in_scope and self.start <= moment < self.end


class GatesConfig(StrictModel):
    """Built-in gates."""

    no_downgrade: bool = True
    freeze: list[FreezeWindow] = Field(default_factory=list)
    require_reason: bool = False
    """Hotfix pipelines always require a reason."""
    approval_file: str | None = Field(default=None, min_length=1)
    """A YAML file of approvals (relative to the pipeline file) for targets with
    ``approval: required``; ``--approve`` on the command line is the other way."""


ReportFormat = Literal["json", "junit", "markdown", "html"]
DEFAULT_REPORT_FORMATS: tuple[ReportFormat, ...] = ("json", "markdown")


class ReportsConfig(StrictModel):
    """Report files written at the end of every run."""

    dir: str = "reports"
    formats: list[ReportFormat] = Field(default_factory=lambda: list(DEFAULT_REPORT_FORMATS))


class Pipeline(StrictModel):
    """A pipeline file: what to promote, from where, to which targets, and how."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["release", "hotfix"] = "release"
    description: str | None = None
    source: SourceConfig
    targets: list[TargetConfig] = Field(min_length=1)
    artifacts: list[ArtifactConfig] = Field(min_length=1)
    tasks: list[str] = Field(default_factory=list)
    """Task names to promote; default: every task that uses the artifacts."""
    values: dict[str, Value] = Field(default_factory=dict)
    """Values shared by every target (a target's ``values`` override them)."""
    connections: ConnectionsConfig = Field(default_factory=ConnectionsConfig)
    parameters: ParametersConfig = Field(default_factory=ParametersConfig)
    apply: ApplyConfig = Field(default_factory=ApplyConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    plugins: list[str] = Field(default_factory=list)
    """Local plugin modules: ``.py`` paths relative to this file, or module names."""

    @property
    def requires_reason(self) -> bool:
        """Hotfix pipelines, and pipelines with ``gates.require_reason``, need ``--reason``."""
        return self.kind == "hotfix" or self.gates.require_reason

    def select_target(self, environment: str | None) -> TargetConfig:
        """The target named ``environment``, or the first one; raises ``KeyError`` if unknown."""
        if environment is None:
            return self.targets[0]
        for target in self.targets:
            if target.environment == environment:
                return target
        raise KeyError(environment)

    def target_ref(self, target: TargetConfig) -> TargetRef:
        """The environment/workspace of a target (the workspace defaults to the source's)."""
        return TargetRef(
            environment=target.environment, workspace=target.workspace or self.source.workspace
        )

    def source_ref(self) -> TargetRef:
        """The source's environment/workspace."""
        return TargetRef(environment=self.source.environment, workspace=self.source.workspace)


CORE_SECTIONS = frozenset(Pipeline.model_fields)


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

    @property
    def base_dir(self) -> Path:
        """The pipeline file's directory (relative paths in it start here)."""
        return self.path.parent


class _EnvironmentVariables:
    """``env.NAME`` in templates; a missing variable is an error, like any undefined name."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._environ[name]
        except KeyError:
            raise jinja2.UndefinedError(f"environment variable {name!r} is not set") from None

    def __getitem__(self, name: str) -> str:
        return self.__getattr__(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """``env.get('NAME', 'default')`` for optional variables."""
        return self._environ.get(name, default)


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


SectionRegistry = dict[str, tuple[type[BaseModel], str]]
"""Section name -> (model, name of the plugin that registered it)."""


def collect_sections(hooks: PromoterHooks) -> SectionRegistry:
    """Ask plugins for their pipeline sections; a name registered twice names both plugins."""
    registry: SectionRegistry = {}
    owners = _module_owners(hooks)
    callers = hooks.implementation_codes("promoter_register_pipeline_sections")

    def register(name: str, model: type[BaseModel]) -> None:
        # The plugin whose hook implementation is calling: found on the stack.
        frame = sys._getframe(1)
        owner: str | None = None
        while frame is not None and owner is None:
            owner = callers.get(frame.f_code)
            frame = frame.f_back  # type: ignore[assignment]
        if owner is None:
            owner = owners.get(model.__module__, model.__module__)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise PluginError(owner, f"section {name!r}: {model!r} is not a pydantic model")
        if name in CORE_SECTIONS:
            raise PluginError(
                owner, f"plugin {owner!r} registers section {name!r}, a built-in section"
            )
        if name in registry:
            other = registry[name][1]
            raise PluginError(
                owner,
                f"pipeline section {name!r} is registered by both {_describe(hooks, other)} "
                f"and {_describe(hooks, owner)}",
                hint="uninstall or disable (PROMOTER_DISABLE_PLUGINS) one of them",
            )
        registry[name] = (model, owner)

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
    written anywhere. With ``hooks``, the file's ``plugins:`` are registered in that plugin manager
    and plugin sections are validated by the models the plugins register.
    """
    display = str(path)
    file = Path(path)
    env_vars = os.environ if environ is None else environ
    variables = dict(variables or {})
    try:
        raw_text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(
            [PipelineProblem(display, None, None, "file not found")],
            hint="give the path of a pipeline file, e.g. pipelines/release.yaml",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError([PipelineProblem(display, None, None, f"cannot read: {exc}")]) from exc
    sha256 = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    raw_lines = raw_text.splitlines()

    rendered = _render(display, raw_text, raw_lines, variables, env_vars)
    document = _parse(display, rendered)
    locator = _Locator(display, document)

    base_dir = file.resolve().parent
    loaded_plugins: list[str] = []
    registry: SectionRegistry = {}
    if hooks is not None:
        loaded_plugins = _load_local_plugins(hooks, document, locator, base_dir)
        registry = collect_sections(hooks)

    data = _to_plain(document)
    problems: list[PipelineProblem] = []
    if hooks is not None:
        # A section named like a plugin that PROMOTER_DISABLE_PLUGINS blocks is that plugin's
        # configuration: ignored with the plugin, rather than an unknown key.
        blocked = {k for k in data if k not in registry and k not in CORE_SECTIONS}
        for name in blocked:
            if hooks.pm.is_blocked(str(name)):
                del data[name]

    core = {k: v for k, v in data.items() if k not in registry}
    pipeline: Pipeline | None = None
    try:
        pipeline = Pipeline.model_validate(core)
    except ValidationError as exc:
        problems.extend(locator.from_validation(exc, Pipeline, ()))

    sections: dict[str, BaseModel] = {}
    for name, (model, _owner) in registry.items():
        if name not in data:
            continue
        try:
            sections[name] = model.model_validate(data[name])
        except ValidationError as exc:
            problems.extend(locator.from_validation(exc, model, (name,)))

    secrets = Secrets(base_dir, env_vars)
    for loc, ref in _secret_refs(data, ()):
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
    )


def _render(
    display: str,
    text: str,
    lines: list[str],
    variables: dict[str, str],
    environ: Mapping[str, str],
) -> str:
    line: int | None
    jinja = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    context: dict[str, Any] = {
        "values": _PerTarget("values"),
        "target": _PerTarget("target"),
        **variables,
        "vars": variables,
        "env": _EnvironmentVariables(environ),
    }
    try:
        return jinja.from_string(text).render(context)
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno
        message = f"template syntax error: {exc.message}"
    except jinja2.UndefinedError as exc:
        line = _template_line(exc)
        message = f"undefined variable: {exc.message}"
        if "environment variable" not in (exc.message or ""):
            message += " (pass it with --var NAME=VALUE)"
    except jinja2.TemplateError as exc:
        line = _template_line(exc)
        message = f"template error: {exc.message or exc}"
    except Exception as exc:  # e.g. a filter raising; Jinja2 still reports the template line
        line = _template_line(exc)
        message = f"template error: {type(exc).__name__}: {exc}"
    key = _key_path_on_line(text, line) or _key_on_line(lines, line)
    raise PipelineError([PipelineProblem(display, line, key, message)])


def _template_line(exc: BaseException) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line


_KEY_RE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:")


def _key_on_line(lines: list[str], line: int | None) -> str | None:
    if line is None or not 1 <= line <= len(lines):
        return None
    match = _KEY_RE.match(lines[line - 1])
    return match[1] if match else None


_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def _key_path_on_line(text: str, line: int | None) -> str | None:
    """The key path (``artifacts[0].version``) on a line of the unrendered file, if it parses."""
    if line is None:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    # Template expressions become a placeholder (keeping newlines), so the YAML structure shows.
    def blank(match: re.Match[str]) -> str:
        return "x" + "\n" * match.group(0).count("\n")

    try:
        document = YAML(typ="rt").load(_JINJA_EXPRESSION.sub(blank, text))
    except YAMLError:
        return None
    found: list[tuple[str | int, ...]] = []

    def walk(node: Any, loc: tuple[str | int, ...]) -> None:
        lc: Any = getattr(node, "lc", None)
        if lc is None:
            return
        if isinstance(node, dict):
            for key in node:
                if lc.key(key)[0] + 1 == line:
                    found.append((*loc, str(key)))
                walk(node[key], (*loc, str(key)))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if lc.item(index)[0] + 1 == line:
                    found.append((*loc, index))
                walk(item, (*loc, index))

    walk(document, ())
    return _format_loc(max(found, key=len)) if found else None


def _parse(display: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        key = _key_on_line(text.splitlines(), line)
        raise PipelineError(
            [PipelineProblem(display, line, key, f"YAML syntax error: {problem}")]
        ) from None
    except YAMLError as exc:
        raise PipelineError([PipelineProblem(display, None, None, f"YAML error: {exc}")]) from None
    if document is None:
        raise PipelineError([PipelineProblem(display, 1, None, "the pipeline file is empty")])
    if not isinstance(document, CommentedMap):
        raise PipelineError(
            [PipelineProblem(display, 1, None, "a pipeline file must be a mapping of sections")]
        )
    return document


def _to_plain(node: Any) -> Any:
    """ruamel's round-trip nodes -> dicts, lists, scalars; secret-looking strings -> SecretRef."""
    if isinstance(node, dict):
        return {str(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    if isinstance(node, str):
        text = str(node)
        if SecretRef.looks_like(text):
            try:
                return SecretRef.parse(text)
            except ValueError:
                return text  # an unknown scheme: reported by validation as an invalid reference
        return text
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


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


def _semantic_problems(pipeline: Pipeline, locator: _Locator) -> list[PipelineProblem]:
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
    if pipeline.kind == "hotfix" and len(pipeline.artifacts) != 1:
        problems.append(
            locator.problem(
                ("artifacts",),
                f"a hotfix pipeline promotes exactly one artifact, this one lists {len(pipeline.artifacts)}",
            )
        )
    for index, spec in enumerate(pipeline.plugins):
        if not spec.strip():
            problems.append(locator.problem(("plugins", index), "empty plugin name"))
    return problems


def _load_local_plugins(
    hooks: PromoterHooks, document: Any, locator: _Locator, base_dir: Path
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


class _Locator:
    """Finds the line of a key path in the parsed document, and formats problems."""

    def __init__(self, display: str, document: Any) -> None:
        self.display = display
        self.document = document

    def line(self, loc: tuple[str | int, ...]) -> int | None:
        """1-based line of ``loc``; for a missing key, the line of its closest parent."""
        node: Any = self.document
        line: int = node.lc.line + 1
        for part in loc:
            lc: Any = getattr(node, "lc", None)
            try:
                if isinstance(node, dict) and part in node:
                    line = lc.key(part)[0] + 1
                    node = node[part]
                elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                    line = lc.item(part)[0] + 1
                    node = node[part]
                else:
                    break
            except (AttributeError, KeyError, TypeError):
                break
        return line

    def problem(self, loc: tuple[str | int, ...], message: str) -> PipelineProblem:
        """A problem at ``loc``."""
        return PipelineProblem(self.display, self.line(loc), _format_loc(loc) or None, message)

    def from_validation(
        self, exc: ValidationError, model: type[BaseModel], prefix: tuple[str | int, ...]
    ) -> list[PipelineProblem]:
        """One problem per invalid key (union alternatives collapsed into the first)."""
        problems: list[PipelineProblem] = []
        seen: set[str] = set()
        for error in exc.errors(include_url=False):
            loc = (*prefix, *self._data_loc(prefix, error["loc"]))
            key = _format_loc(loc)
            if key in seen:
                continue
            seen.add(key)
            problems.append(
                PipelineProblem(
                    self.display, self.line(loc), key or None, _message(error, model, loc, prefix)
                )
            )
        return problems

    def _data_loc(
        self, prefix: tuple[str | int, ...], loc: tuple[str | int, ...]
    ) -> tuple[str | int, ...]:
        """Drop pydantic's union/validator tags from ``loc``, keeping the keys in the document."""
        node: Any = self.document
        for part in prefix:
            node = node.get(part) if isinstance(node, dict) else None
        kept: list[str | int] = []
        for index, part in enumerate(loc):
            if isinstance(node, dict):
                if part in node:
                    kept.append(part)
                    node = node[part]
                    continue
                if index == len(loc) - 1:
                    kept.append(part)  # a missing or unknown key
                break
            if isinstance(node, list) and isinstance(part, int):
                kept.append(part)
                node = node[part] if 0 <= part < len(node) else None
                continue
            break
        return tuple(kept)


def _format_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(
    error: Any, model: type[BaseModel], loc: tuple[str | int, ...], prefix: tuple[str | int, ...]
) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[len(prefix) : -1])
        message = "unknown key"
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            message += "; allowed keys: " + ", ".join(sorted(allowed))
        return message
    if isinstance(error.get("input"), SecretRef):
        return "a secret reference is not allowed here; put secrets under parameters.secrets"
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[:1].lower() + msg[1:]


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model found at ``loc`` (best effort; empty if unknown)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


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
