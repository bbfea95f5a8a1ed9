"""Pipeline files: Jinja2-rendered YAML, validated by pydantic, with ``file:line: key:`` errors.

Loading a pipeline file goes through four steps; each reports every problem it finds as
``pipelines/release.yaml:12: targets[1].environment: field required``:

1. **render** the file (at most :data:`MAX_PIPELINE_FILE_SIZE`) with Jinja2 (``StrictUndefined``),
   in promoter's sandbox with its limits (:mod:`promoter.templating`): ``--var k=v`` values are
   top-level names (and ``vars.k``), environment variables are ``env.NAME`` (not promoter's own);
2. **parse** the YAML (ruamel.yaml, which keeps line numbers; duplicate keys are errors), once its
   events have shown it within :data:`MAX_YAML_DEPTH` and :data:`MAX_YAML_NODES`;
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

import difflib
import hashlib
import os
import re
import stat
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
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

from promoter import templating
from promoter.errors import PipelineError, PipelineProblem, PluginError
from promoter.run import TargetRef
from promoter.templating import SecurityError

if TYPE_CHECKING:
    from promoter.hooks import PromoterHooks

# --- secrets --------------------------------------------------------------------------------------

SECRET_REF_PATTERN = re.compile(r"^\$\{(?P<scheme>[A-Za-z_][\w-]*):(?P<name>[^}]+)\}$")
SECRET_SCHEMES = ("env", "file")


OWN_SETTING_PREFIXES = ("TALEND_", "PROMOTER_")
"""Environment variables that hold promoter's own credentials and settings. A ``${env:...}``
reference may name one only in a :data:`CREDENTIAL_SECTIONS` section, where promoter itself
authenticates with it; anywhere else the value would end up in a Talend task or connection."""

CREDENTIAL_SECTIONS = frozenset({"talend"})
"""Pipeline sections whose secret references promoter uses to authenticate itself."""

SECRETS_DIR_VARIABLE = "PROMOTER_SECRETS_DIR"
"""Directories (separated by ``os.pathsep``) that ``${file:...}`` may read besides the pipeline
file's own directory."""

MAX_SECRET_FILE_BYTES = 64 * 1024
"""The largest file a ``${file:...}`` reference may read (a key or a certificate chain fits)."""

SYSTEM_DIRECTORIES = ("/proc", "/sys", "/dev")
"""Never secrets, whatever directories are configured: process state, kernel state, devices."""


def is_own_setting(name: str) -> bool:
    """Whether the environment variable ``name`` is one of promoter's own (``TALEND_*``,
    ``PROMOTER_*``; case-insensitive, as on Windows)."""
    return name.upper().startswith(OWN_SETTING_PREFIXES)


class SecretRef:
    """A reference to a secret: ``${env:NAME}`` or ``${file:path}``; never the value itself.

    ``str(ref)`` is the reference text, so printing, logging or storing a ``SecretRef`` never
    discloses the secret. Resolve it with ``run.secrets.resolve(ref)``.

    ``promoter_credential`` is set on the references of a :data:`CREDENTIAL_SECTIONS` section of a
    loaded pipeline file (``talend: {token: ${env:TALEND_ACCESS_TOKEN}}``): only those may name
    promoter's own variables. It is not part of the reference's identity (equality, hash, text).
    """

    __slots__ = ("name", "promoter_credential", "scheme")

    def __init__(self, scheme: str, name: str) -> None:
        if scheme not in SECRET_SCHEMES:
            raise ValueError(
                f"unknown secret scheme {scheme!r}; use ${{env:NAME}} or ${{file:path}}"
            )
        self.scheme = scheme
        self.name = name
        self.promoter_credential = False

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


class SecretRefused(Exception):
    """A secret reference that cannot or may not be resolved; the message says why and what to
    do."""


class Secrets:
    """Resolves secret references for stages, and masks resolved values in text.

    What a reference may read:

    - ``${env:NAME}``: an environment variable — not one of promoter's own (``TALEND_*``,
      ``PROMOTER_*``) except in the ``talend:`` section, where promoter authenticates with it;
    - ``${file:PATH}``: a regular file (no device, FIFO, socket or directory; nothing under
      ``/proc``, ``/sys`` or ``/dev``) whose real path, symbolic links resolved, lies in the
      pipeline file's directory or in a directory of ``PROMOTER_SECRETS_DIR`` (several separated
      by ``os.pathsep``); at most :data:`MAX_SECRET_FILE_BYTES`, UTF-8, stripped of surrounding
      whitespace. A relative ``PATH`` starts at the pipeline file's directory.

    The rules are checked when the pipeline file is validated (:func:`load_pipeline`) and again
    by :meth:`resolve`, whoever asks. Values are not cached or stored; the resolved values are
    remembered only to :meth:`redact` them from messages.
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

    def allowed_directories(self) -> list[Path]:
        """Where ``${file:...}`` may read: the pipeline's directory, then ``PROMOTER_SECRETS_DIR``."""
        directories = [Path(os.path.realpath(self.base_dir))]
        for entry in self.environ.get(SECRETS_DIR_VARIABLE, "").split(os.pathsep):
            if entry.strip():
                directories.append(Path(os.path.realpath(Path(entry.strip()).expanduser())))
        return directories

    def problem(self, ref: SecretRef) -> str | None:
        """Why ``ref`` cannot be resolved, or ``None`` when it can (the value is not kept)."""
        try:
            self._value(ref)
        except SecretRefused as exc:
            return str(exc)
        return None

    def resolve(self, ref: SecretRef | str) -> str:
        """The secret's value. Never store, log or report it."""
        if isinstance(ref, str):
            ref = SecretRef.parse(ref)
        try:
            value = self._value(ref)
        except SecretRefused as exc:
            from promoter.errors import ConfigurationError

            raise ConfigurationError(
                str(exc), hint="fix the reference, then resume the run"
            ) from None
        if len(value) >= 3:
            self._seen.add(value)
        return value

    def redact(self, text: str) -> str:
        """``text`` with every secret value resolved so far replaced by ``***``."""
        for value in sorted(self._seen, key=len, reverse=True):
            text = text.replace(value, self.MASK)
        return text

    def _value(self, ref: SecretRef) -> str:
        if ref.scheme == "env":
            if is_own_setting(ref.name) and not ref.promoter_credential:
                raise SecretRefused(
                    f"secret {ref} is refused: TALEND_* and PROMOTER_* variables are promoter's "
                    "own credentials and settings, readable only in the talend: section (where "
                    "promoter authenticates with them) — elsewhere they would be written into "
                    "Talend; put the value in a variable of its own, e.g. ${env:FINANCE_DB_PASSWORD}"
                )
            if ref.name not in self.environ:
                raise SecretRefused(
                    f"secret {ref} cannot be resolved: environment variable {ref.name} is not set"
                )
            return self.environ[ref.name]
        return self._read_file(ref)

    def _read_file(self, ref: SecretRef) -> str:
        path = Path(ref.name).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        real = Path(os.path.realpath(path))
        try:
            status: os.stat_result | None = os.stat(real)
        except OSError:
            status = None
        if status is not None and not stat.S_ISREG(status.st_mode):
            raise SecretRefused(
                f"secret {ref} is refused: {real} is {_file_kind(status.st_mode)}, not a regular "
                "file; a secret file holds the value as text"
            )
        if any(real == Path(d) or Path(d) in real.parents for d in SYSTEM_DIRECTORIES):
            raise SecretRefused(
                f"secret {ref} is refused: {real} is a system file (under "
                f"{', '.join(SYSTEM_DIRECTORIES)}), never a secret; write the value to a file "
                "next to the pipeline file or in PROMOTER_SECRETS_DIR"
            )
        directories = self.allowed_directories()
        if not any(real == d or d in real.parents for d in directories):
            configured = ", ".join(str(d) for d in directories[1:]) or "not set"
            raise SecretRefused(
                f"secret {ref} is refused: {real} is outside the pipeline file's directory "
                f"({directories[0]}) and the secrets directories ({SECRETS_DIR_VARIABLE}: "
                f"{configured}); move the file there, or add its directory to "
                f"{SECRETS_DIR_VARIABLE} (several separated by {os.pathsep!r})"
            )
        if status is None:
            raise SecretRefused(f"secret {ref} cannot be resolved: file {path} does not exist")
        if status.st_size > MAX_SECRET_FILE_BYTES:
            raise SecretRefused(_too_large(ref, real))
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            descriptor = os.open(real, flags)
        except OSError as exc:
            raise SecretRefused(
                f"secret {ref} cannot be resolved: file {path} is not readable "
                f"({exc.strerror or exc})"
            ) from None
        with os.fdopen(descriptor, "rb") as handle:
            # The open file is what counts: it may have been swapped since the checks above.
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SecretRefused(f"secret {ref} is refused: {real} is not a regular file")
            data = handle.read(MAX_SECRET_FILE_BYTES + 1)
        if len(data) > MAX_SECRET_FILE_BYTES:
            raise SecretRefused(_too_large(ref, real))
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise SecretRefused(
                f"secret {ref} cannot be resolved: file {path} is not UTF-8 text"
            ) from None


def _too_large(ref: SecretRef, real: Path) -> str:
    return (
        f"secret {ref} is refused: {real} is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB; "
        "a secret file holds one value"
    )


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


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

    @field_validator("dir")
    @classmethod
    def _inside_working_directory(cls, value: str) -> str:
        # A path from the file stays under the working directory; one from the command line
        # (--report-dir) is the user's choice. Both flavours of path: a file written on Linux
        # may run on Windows, and the other way round.
        posix, windows = PurePosixPath(value), PureWindowsPath(value)
        if posix.is_absolute() or windows.is_absolute() or windows.drive or value.startswith("~"):
            raise ValueError(
                f"{value!r} is not a relative path; reports.dir stays inside the working "
                "directory (give --report-dir on the command line for another place)"
            )
        if ".." in posix.parts or ".." in windows.parts:
            raise ValueError(
                f"{value!r} leaves the working directory ('..'); reports.dir stays inside it "
                "(give --report-dir on the command line for another place)"
            )
        return value


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

MAX_PIPELINE_FILE_SIZE = 4 * 1024 * 1024
"""The largest pipeline file, in characters, as written and once rendered (4 MiB)."""

MAX_YAML_DEPTH = 64
"""How deeply a pipeline file's YAML may nest (aliases included)."""

MAX_YAML_NODES = 20_000
"""How many values (keys, scalars, lists, mappings) a pipeline file's YAML may hold once its
aliases are expanded. A pipeline file holds a few hundred; ruamel.yaml reads about 20,000 a second
(check, load and validation each walk them), so this keeps a file within seconds."""


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
            raise jinja2.UndefinedError(f"environment variable {name!r} is not set") from None

    def __getitem__(self, name: str) -> str:
        return self.__getattr__(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """``env.get('NAME', 'default')`` for optional variables."""
        self._check(name)
        return self._environ.get(name, default)

    @staticmethod
    def _check(name: str) -> None:
        if is_own_setting(name):
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
        raise PipelineError([PipelineProblem(display, None, None, _too_big("the file"))])
    sha256 = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    raw_lines = raw_text.splitlines()

    rendered = _render(display, raw_text, raw_lines, variables, env_vars)
    if len(rendered) > MAX_PIPELINE_FILE_SIZE:
        raise PipelineError([PipelineProblem(display, None, None, _too_big("the rendered file"))])
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
        if isinstance(ref, SecretRef) and loc[0] in CREDENTIAL_SECTIONS:
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
    )


def _render(
    display: str,
    text: str,
    lines: list[str],
    variables: dict[str, str],
    environ: Mapping[str, str],
) -> str:
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
    key = _key_path_on_line(text, line) or _key_on_line(lines, line)
    raise PipelineError([PipelineProblem(display, line, key, message)])


_KEY_RE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w.-]*)\s*:")


def _key_on_line(lines: list[str], line: int | None) -> str | None:
    if line is None or not 1 <= line <= len(lines):
        return None
    match = _KEY_RE.match(lines[line - 1])
    return match[1] if match else None


_TEMPLATE_OPENING = re.compile(r"\{[{%#]")
_TEMPLATE_CLOSING = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _blank_template_expressions(text: str) -> str:
    """``text`` with every ``{{ }}``, ``{% %}`` and ``{# #}`` replaced by ``x`` (keeping their
    newlines), so that the YAML structure of an unrendered file shows. Linear: an unclosed
    opening blanks the rest of the text."""
    parts: list[str] = []
    position = 0
    while (match := _TEMPLATE_OPENING.search(text, position)) is not None:
        end = text.find(_TEMPLATE_CLOSING[match.group(0)], match.end())
        end = len(text) if end < 0 else end + 2
        parts.append(text[position : match.start()])
        parts.append("x" + "\n" * text.count("\n", match.start(), end))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _key_path_on_line(text: str, line: int | None) -> str | None:
    """The key path (``artifacts[0].version``) on a line of the unrendered file, if it parses
    (within the same limits as the rendered file)."""
    if line is None:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    blanked = _blank_template_expressions(text)
    if yaml_limit_problem(blanked) is not None:
        return None
    try:
        document = YAML(typ="rt").load(blanked)
    except (YAMLError, RecursionError):
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


def yaml_limit_problem(text: str) -> tuple[int | None, str] | None:
    """The first limit a YAML text goes past, as ``(line, message)``, or ``None``.

    Reads the parser's events, before anything is composed: nesting deeper than
    :data:`MAX_YAML_DEPTH`, or more than :data:`MAX_YAML_NODES` nodes once aliases are expanded
    (an alias counts as the whole node it refers to: a "billion laughs" file is refused after a
    few lines). An alias to a node that contains it is refused too. Syntax errors are left to
    the loader, which reports them with their line.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    count = 0
    # One entry per open collection: [anchor, count before it, its depth, deepest depth inside].
    open_nodes: list[list[Any]] = []
    sizes: dict[str, int] = {}
    heights: dict[str, int] = {}
    try:
        for event in YAML(typ="rt").parse(text):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            depth = len(open_nodes)
            if isinstance(event, AliasEvent):
                if event.anchor not in sizes:
                    if any(node[0] == event.anchor for node in open_nodes):
                        return line, (
                            f"the alias *{event.anchor} refers to a node that contains it"
                        )
                    continue  # an undefined alias: the loader reports it
                count += sizes[event.anchor]
                reach = depth + heights[event.anchor]
                if reach > MAX_YAML_DEPTH:
                    return line, _too_deep()
                if open_nodes:
                    open_nodes[-1][3] = max(open_nodes[-1][3], reach)
            elif isinstance(event, ScalarEvent):
                count += 1
                if event.anchor:
                    sizes[event.anchor], heights[event.anchor] = 1, 0
            elif isinstance(event, CollectionStartEvent):
                count += 1
                if depth + 1 > MAX_YAML_DEPTH:
                    return line, _too_deep()
                open_nodes.append([event.anchor, count - 1, depth + 1, depth + 1])
            elif isinstance(event, CollectionEndEvent) and open_nodes:
                anchor, before, start, deepest = open_nodes.pop()
                if open_nodes:
                    open_nodes[-1][3] = max(open_nodes[-1][3], deepest)
                if anchor:
                    sizes[anchor], heights[anchor] = count - before, deepest - start + 1
            if count > MAX_YAML_NODES:
                return line, (
                    f"the document has more than {MAX_YAML_NODES:,} values once its aliases are "
                    "expanded (an alias counts as everything it refers to); a pipeline file needs "
                    "a few hundred"
                )
    except (YAMLError, RecursionError):
        return None
    return None


def _too_deep() -> str:
    return (
        f"the document is nested more than {MAX_YAML_DEPTH} levels deep (aliases included); "
        "a pipeline file needs five or six"
    )


def _too_big(what: str) -> str:
    return (
        f"{what} is larger than {MAX_PIPELINE_FILE_SIZE // (1024 * 1024)} MiB; a pipeline file "
        "is a few kilobytes"
    )


def _parse(display: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    limit = yaml_limit_problem(text)
    if limit is not None:
        line, message = limit
        raise PipelineError(
            [PipelineProblem(display, line, _key_on_line(text.splitlines(), line), message)]
        )
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
