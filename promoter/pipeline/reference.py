"""Generate ``docs/pipeline-reference.md`` from the pydantic models of pipeline files.

    python -m promoter.pipeline.reference            # rewrite docs/pipeline-reference.md
    python -m promoter.pipeline.reference --check    # exit 1 when it is out of date

Every key of :class:`promoter.pipeline.Pipeline`, and of the sections the built-in plugins register
(``promoter_register_pipeline_sections``), with its type, default, constraints and description —
the description being the field's ``description`` or the docstring under the attribute. A test runs
the check, so the reference cannot drift from the models.
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import json
import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, RootModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from promoter.pipeline import Pipeline, SecretRef, SectionSpec, collect_sections

DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "pipeline-reference.md"

#: Descriptions of keys whose model has neither a ``description`` nor an attribute docstring,
#: by ``ModelName.field``. Prefer documenting the model; this keeps the reference complete meanwhile.
FALLBACK_DESCRIPTIONS: dict[str, str] = {
    "Pipeline.name": "The pipeline's name, recorded with every run (letters, digits, `_.-`).",
    "Pipeline.kind": "`hotfix` pipelines require `--reason`.",
    "Pipeline.description": "Free text for people reading the file.",
    "Pipeline.source": "The environment and workspace to promote from.",
    "Pipeline.targets": "Where to promote to, in order; `--target ENV` picks one.",
    "Pipeline.gates": "Checks before anything is written; a refusal blocks the run (exit 4).",
    "Pipeline.reports": "Report files written after every run.",
    "SourceConfig.environment": "The source environment's name.",
    "SourceConfig.workspace": "The source workspace's name.",
    "TargetConfig.environment": "The target environment's name (what `--target` matches).",
    "TargetConfig.approval": "`required`: the run needs `--approve` (or an approval file).",
    "ArtifactConfig.name": "The artifact's name.",
    "ArtifactConfig.version": "An exact version, `latest`, or a glob such as `0.3.*`.",
    "CreateMissingConnections.template": "A Jinja2 template, relative to the pipeline file.",
    "CreateMissingConnections.values": "Extra values for the template.",
    "ConnectionsConfig.map": "Source name -> target name, or -> `{environment: name}`.",
    "ConnectionsConfig.create_missing": "Create a connection the target lacks from a template.",
    "ParametersConfig.policy": "Whose values win: the target's, the source's, the template's, or new ones only.",
    "ParametersConfig.values": "Values that win over both sides (Jinja2: `{{ values.NAME }}`).",
    "ApplyConfig.strategy": "`direct` writes objects; `native` runs Talend's own promotion, then binds.",
    "ApplyConfig.concurrency": "Objects written at once.",
    "SmokeTest.task": "The task to run on the target, by name.",
    "SmokeTest.timeout": "Seconds to wait for the execution to end.",
    "SmokeTest.expect": "The status the execution must end with.",
    "SmokeTest.parameters": "Run parameters for the execution.",
    "SmokeTest.max_rejected_rows": "Fail when the execution rejects more rows.",
    "SmokeTest.log_must_contain": "Strings the log must contain.",
    "SmokeTest.log_must_not_contain": "Strings the log must not contain.",
    "VerifyConfig.smoke": "Tasks to run after apply, and what their executions must look like.",
    "FreezeWindow.start": "Start of the window (UTC unless it says otherwise).",
    "FreezeWindow.end": "End of the window (exclusive).",
    "FreezeWindow.environments": "The frozen environments (default: all).",
    "FreezeWindow.reason": "Shown when the gate refuses.",
    "GatesConfig.no_downgrade": "Refuse to move a task to an older artifact version.",
    "GatesConfig.freeze": "Windows during which promotions are refused.",
    "ReportsConfig.dir": "Where report files go (relative to the working directory), one directory per run; `--report-dir` overrides it.",
    "ReportsConfig.formats": "Which reports: `json` (run.json), `junit` (junit.xml), `markdown` (summary.md), `html` (report.html).",
}


def attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The docstrings written under a model's attributes (``x: int = 0`` then ``\"\"\"...\"\"\"``)."""
    found: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0]
        if not isinstance(body, ast.ClassDef):
            continue
        statements = body.body
        for current, following in itertools.pairwise(statements):
            if (
                isinstance(current, ast.AnnAssign)
                and isinstance(current.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                found[current.target.id] = inspect.cleandoc(following.value.value)
    return found


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation refers to (``list[X]``, ``X | None``, ``dict[str, X]``...)."""
    if _is_model(annotation):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += nested_models(arg)
    return found


def type_name(annotation: Any, links: dict[type[BaseModel], str]) -> str:
    """A readable type: ``list of string``, ``"direct" | "native"``, a link to a section..."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if annotation is SecretRef:
        return "secret reference (`${env:NAME}` / `${file:path}`)"
    if _is_model(annotation):
        anchor = links.get(annotation)
        return f"[object](#{anchor})" if anchor else "object"
    if origin is typing.Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a, links) for a in args]
        if set(names) >= {"string", "boolean", "integer", "number"}:
            secret = " or secret reference" if SecretRef in args else ""
            return "scalar (string, number, boolean, null)" + secret
        return " or ".join(dict.fromkeys(names))
    if origin is list:
        return f"list of {type_name(args[0], links)}"
    if origin is dict:
        return f"map of {type_name(args[1], links)}"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return simple[annotation]
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    """The default as the file would spell it; ``required`` when there is none."""
    if field.is_required():
        return "**required**"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined:
        return "**required**"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value, default=str)}`"


def constraints(field: FieldInfo) -> str:
    """Ranges, lengths and patterns, from the field's metadata."""
    parts = []
    for item in field.metadata:
        for attribute, label in (
            ("ge", "≥"),
            ("gt", ">"),
            ("le", "≤"),
            ("lt", "<"),
            ("min_length", "min length"),
            ("max_length", "max length"),
            ("pattern", "pattern"),
        ):
            value = getattr(item, attribute, None)
            if value is not None:
                parts.append(f"{label} `{value}`")
    return ", ".join(parts)


def plugin_sections() -> dict[str, SectionSpec]:
    """The sections the built-in plugins register, by name."""
    from promoter.hooks.calls import PromoterHooks
    from promoter.hooks.manager import get_plugin_manager

    hooks = PromoterHooks(get_plugin_manager(load_entrypoints=False))
    return dict(sorted(collect_sections(hooks).items()))


def _section_type(name: str, model: type[BaseModel], links: dict[type[BaseModel], str]) -> str:
    if issubclass(model, RootModel):
        return type_name(model.model_fields["root"].annotation, links)
    return type_name(model, links)


def walk(path: str, model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
    """``(key path, model)`` of ``model`` and of every model under it, depth first."""
    if issubclass(model, RootModel):  # a list section (``artifacts:``): document its items
        annotation = model.model_fields["root"].annotation
        suffix = "[]" if typing.get_origin(annotation) is list else ""
        for nested in nested_models(annotation):
            yield from walk(f"{path}{suffix}", nested)
        return
    yield path, model
    for name, field in model.model_fields.items():
        for nested in nested_models(field.annotation):
            origin = typing.get_origin(field.annotation)
            suffix = "[]" if origin is list else ""
            yield from walk(f"{path}.{name}{suffix}" if path else f"{name}{suffix}", nested)


def _anchor(path: str) -> str:
    return (path or "top-level").replace(".", "-").replace("[]", "").lower()


def render() -> str:
    """The Markdown reference."""
    plugins = plugin_sections()
    roots: list[tuple[str, type[BaseModel]]] = [
        ("", Pipeline),
        *((name, spec.model) for name, spec in plugins.items()),
    ]
    entries: list[tuple[str, type[BaseModel]]] = []
    for path, model in roots:
        entries += list(walk(path, model))
    links: dict[type[BaseModel], str] = {}
    for path, model in entries:
        links.setdefault(model, _anchor(path))
    out = [
        "# Pipeline file reference",
        "",
        "<!-- Generated by `python -m promoter.pipeline.reference` from the pydantic models "
        "(promoter/pipeline/schema.py and the plugins' sections); do not edit. -->",
        "",
        "Every key a pipeline file accepts. Unknown keys are errors; `promoter validate FILE` checks",
        "a file against exactly these models. How files are read (Jinja2, then YAML, then",
        "validation), values, secrets and gates: [pipelines.md](pipelines.md). A commented example:",
        "`promoter init`, or [pipelines/release.yaml](../pipelines/release.yaml).",
        "",
        "Sections: " + ", ".join(f"[`{p or 'top level'}`](#{_anchor(p)})" for p, _ in entries),
        "",
    ]
    seen: set[str] = set()
    for path, model in entries:
        if path in seen:
            continue
        seen.add(path)
        out += [f'<a id="{_anchor(path)}"></a>', ""]
        title = f"`{path}`" if path else "Top level"
        out += [f"## {title}", ""]
        doc = inspect.cleandoc(model.__doc__ or "")
        if doc:
            out += [doc.replace("``", "`"), ""]
        section = plugins.get(path.removesuffix("[]"))
        if section is not None:
            out += [f"A section of the `{section.owner}` plugin.", ""]
        documented = attribute_docstrings(model)
        out += ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            key = field.alias or name
            description = (
                field.description
                or documented.get(name)
                or FALLBACK_DESCRIPTIONS.get(f"{model.__name__}.{name}", "")
            )
            description = " ".join(description.replace("``", "`").split()).replace("|", "\\|")
            out.append(
                f"| `{key}` | {type_name(field.annotation, links)} | {default_text(field)} | "
                f"{constraints(field)} | {description} |"
            )
        if not path:  # the plugins' sections are top-level keys too
            for name, spec in plugins.items():
                doc = inspect.cleandoc(spec.model.__doc__ or "").split("\n\n")[0]
                doc = " ".join(doc.replace("``", "`").split()).replace("|", "\\|")
                out.append(
                    f"| `{name}` | {_section_type(name, spec.model, links)} | "
                    f"{'**required**' if spec.required else 'see below'} | "
                    f"section of the `{spec.owner}` plugin | {doc} |"
                )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, verify) ``docs/pipeline-reference.md``."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = DOCS_FILE.read_text(encoding="utf-8") if DOCS_FILE.exists() else ""
        if current != text:
            print(
                f"{DOCS_FILE} is out of date: run `python -m promoter.pipeline.reference`",
                file=sys.stderr,
            )
            return 1
        return 0
    DOCS_FILE.parent.mkdir(parents=True, exist_ok=True)
    DOCS_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {DOCS_FILE}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
