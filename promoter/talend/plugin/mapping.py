"""Map: turn the exported objects into the objects the target must hold, and find every gap
before anything is written.

- **Workspace** pairing by name (``targets[].workspace`` renames it); a missing workspace is
  created.
- **Connections** pair by name, or through ``connections.map`` (``source: target`` or
  ``source: {environment: target}``); a missing one is created from the Jinja2 template of
  ``connections.create_missing`` (secret values as ``${env:...}`` references), or reported.
  Existing target connections are never modified: their settings belong to the target.
- **Parameters** follow ``parameters.policy``: ``keep-target`` (target values win over the
  source's, explicit values win over both), ``override`` (source, then explicit values),
  ``add-new-only`` (only parameters the target task lacks are added) or ``template`` (source
  values may hold plain placeholders — ``{{ values.NAME }}``, ``{{ NAME }}``,
  ``{{ target.environment }}``, ``{{ target.workspace }}`` — replaced by the target's values).
  A value read from Talend is data: it is never rendered as a template, and any other
  ``{{ ... }}`` or ``{% ... %}`` in it is a problem. ``parameters.values`` come from the pipeline
  file and may use Jinja2, rendered in promoter's sandbox (:mod:`promoter.pipeline.templating`).
  ``parameters.secrets`` are references, resolved only to be fingerprinted here and written
  during apply.
- **Tasks** run the promoted version; an existing target task keeps its run configuration and
  schedule, a new one gets the source's (the schedule paired by description).

Every problem names what is missing and where to add it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from promoter import (
    ConfigurationError,
    ExportBundle,
    ExportedObject,
    MappingProblem,
    ObjectRef,
    RunContext,
    SecretRef,
    TargetMapping,
    hookimpl,
)
from promoter.pipeline import yaml_limit_problem
from promoter.talend.plugin.sections import config
from promoter.talend.plugin.session import TalendSession, session
from promoter.talend.plugin.workspace import (
    ARTIFACT_VERSION,
    CONNECTION,
    PLAN,
    TASK,
    WORKSPACE,
    Body,
    fingerprint,
    is_fingerprint,
    lists_read_for,
)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


#: Where a template expression may start in a value read from Talend.
_EXPRESSION_START = re.compile(r"\{[{%]")

#: The placeholders a value read from Talend may hold (between ``{{`` and ``}}``): nothing is
#: evaluated, each is looked up.
_PLACEHOLDER = re.compile(
    r"\s*(?:values\.(?P<value>[A-Za-z_]\w*)|target\.(?P<target>environment|workspace)"
    r"|(?P<name>[A-Za-z_]\w*))\s*",
    re.ASCII,
)

_PLACEHOLDER_FORMS = (
    "{{ values.NAME }}, {{ NAME }}, {{ target.environment }} or {{ target.workspace }}"
)


def _shown(text: str, limit: int = 80) -> str:
    """A piece of Talend data for a message: quoted, escaped, shortened."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


class _Mapper:
    def __init__(self, run: RunContext, bundle: ExportBundle) -> None:
        self.run = run
        self.bundle = bundle
        # Built once: the sections do not change during the stage, and each task asks for them.
        self.settings = config(run)
        self.talend: TalendSession = session(run)
        self.target = self.talend.target
        self.problems: list[MappingProblem] = []
        self.pipeline_file = run.loaded.display
        self.versions: dict[str, str] = dict(bundle.versions)
        self.secret_refs: dict[str, SecretRef] = dict(self.settings.parameters.secrets)
        self.explicit: dict[str, str | None] = {}
        for name, value in self.settings.parameters.values.items():
            if isinstance(value, SecretRef):
                self.secret_refs[name] = value
            else:
                # "{{ values.x }}" and "{{ target.environment }}" render for the selected target.
                self.explicit[name] = _text(self.render_pipeline_value(name, value))

    def problem(self, message: str, hint: str, ref: ObjectRef | None = None) -> None:
        self.problems.append(MappingProblem(object=ref, message=message, hint=hint))

    # ------------------------------------------------------------------ connections

    def target_connection_name(self, source_name: str) -> str:
        mapped = self.settings.connections.map.get(source_name)
        if isinstance(mapped, dict):
            return mapped.get(self.run.target.environment, source_name)
        return mapped or source_name

    def map_connection(self, exported: ExportedObject) -> ExportedObject | None:
        name = self.target_connection_name(exported.key)
        ref = ObjectRef(kind=CONNECTION, key=name)
        existing = self.target.read_connection(name)
        if existing is not None:
            if existing["app"] != exported.body["app"]:
                self.problem(
                    f"connection {name!r} in {self.run.target} is a {existing['app']} connection, "
                    f"but the tasks need a {exported.body['app']} one",
                    f"map {exported.key!r} to a {exported.body['app']} connection under "
                    f"connections.map in {self.pipeline_file}",
                    ref,
                )
                return None
            return ExportedObject(kind=CONNECTION, key=name, body=existing)
        create = self.settings.connections.create_missing
        if create is None:
            self.problem(
                f"connection {name!r} ({exported.body['app']}) does not exist in {self.run.target}",
                f"create it there, map {exported.key!r} to an existing connection under "
                f"connections.map, or set connections.create_missing.template in {self.pipeline_file}",
                ref,
            )
            return None
        return self.render_connection(exported, name, create.template, create.values, ref)

    def render_connection(
        self,
        exported: ExportedObject,
        name: str,
        template: str,
        values: dict[str, Any],
        ref: ObjectRef,
    ) -> ExportedObject | None:
        import jinja2
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        from promoter.pipeline import templating

        path = Path(template)
        if not path.is_absolute():
            path = self.run.pipeline_path.parent / path
        environment = templating.sandboxed_environment(
            loader=templating.TemplateDirectoryLoader(path.parent)
        )
        context = {
            "connection": {
                "name": name,
                "source_name": exported.key,
                "app": exported.body["app"],
                "parameters": {
                    k: v for k, v in exported.body["parameters"].items() if not is_fingerprint(v)
                },
            },
            "target": {
                "environment": self.run.target.environment,
                "workspace": self.run.target.workspace,
            },
            "values": {
                **self.run.values,
                **{k: v for k, v in values.items() if not isinstance(v, SecretRef)},
            },
        }
        filename = str(path)
        try:
            compiled = environment.get_template(path.name)
            filename = compiled.filename or filename
            rendered = templating.render(compiled, context)
        except jinja2.TemplateSyntaxError as exc:
            self.problem(
                f"{path}:{exc.lineno}: template syntax error: {exc.message}",
                "fix the connection template",
                ref,
            )
            return None
        except jinja2.TemplateNotFound:
            self.problem(
                f"connection template {path} does not exist",
                f"check connections.create_missing.template in {self.pipeline_file}",
                ref,
            )
            return None
        except jinja2.UndefinedError as exc:
            self.problem(
                f"{path}: {exc.message} while rendering connection {name!r}",
                f"define it under the target's values in {self.pipeline_file}",
                ref,
            )
            return None
        except Exception as exc:  # a sandbox refusal, a limit, a filter raising...
            line = templating.template_line(exc, filename)
            where = f"{path}:{line}" if line else str(path)
            self.problem(
                f"{where}: {templating.describe(exc)} while rendering connection {name!r}",
                "fix the connection template",
                ref,
            )
            return None
        limit = yaml_limit_problem(rendered)
        if limit is not None:
            self.problem(
                f"{path}: the rendered template is not valid YAML: {limit[1]}",
                "fix the connection template",
                ref,
            )
            return None
        try:
            document = YAML(typ="safe").load(rendered)
        except YAMLError as exc:
            self.problem(
                f"{path}: the rendered template is not valid YAML: {exc}",
                "fix the connection template",
                ref,
            )
            return None
        if not isinstance(document, dict) or not isinstance(document.get("parameters"), dict):
            self.problem(
                f"{path}: a connection template must render a mapping with 'parameters'",
                "see templates/connections/ for an example",
                ref,
            )
            return None
        parameters: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        for key, value in document["parameters"].items():
            text = _text(value)
            if text is not None and SecretRef.looks_like(text):
                # Not seen by validation: resolve applies the rules of secret references here.
                try:
                    secret = SecretRef.parse(text)
                    parameters[key] = fingerprint(self.run.secrets.resolve(secret))
                except (ValueError, ConfigurationError) as exc:
                    reason = exc.message if isinstance(exc, ConfigurationError) else str(exc)
                    self.problem(
                        f"{path}: parameter {key!r}: {reason}",
                        "fix the connection template's secret reference",
                        ref,
                    )
                    return None
                secrets[key] = str(secret)
            else:
                parameters[key] = text
        body: Body = {
            "name": str(document.get("name") or name),
            "app": str(document.get("app") or exported.body["app"]),
            "parameters": parameters,
        }
        if secrets:
            body["secrets"] = secrets
        return ExportedObject(kind=CONNECTION, key=body["name"], body=body)

    # ------------------------------------------------------------------ parameters

    def parameters(
        self,
        source: dict[str, Any] | None,
        current: dict[str, Any] | None,
        task: ObjectRef | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        policy = self.settings.parameters.policy
        src = {k: v for k, v in (source or {}).items() if not is_fingerprint(v)}
        cur = dict(current or {})
        if policy == "template":
            src = {k: self.substitute_placeholders(k, v, task) for k, v in src.items()}
        if policy in ("override", "template"):
            result = {**{k: v for k, v in cur.items() if is_fingerprint(v)}, **src, **self.explicit}
        elif policy == "keep-target":
            result = {**src, **cur, **self.explicit}
        else:  # add-new-only
            added = {
                k: self.explicit.get(k, v)
                for k, v in {**src, **self.explicit}.items()
                if k not in cur
            }
            result = {**cur, **added}
        secrets: dict[str, str] = {}
        for name, ref in self.secret_refs.items():
            if policy == "add-new-only" and name in cur:
                continue
            result[name] = fingerprint(self.run.secrets.resolve(ref))
            secrets[name] = str(ref)
        return result, secrets

    def render_pipeline_value(self, name: str, value: Any) -> Any:
        """A ``parameters.values`` entry of the pipeline file, rendered for the selected target
        in the sandbox (``{{ values.db_host }}``, ``{{ target.environment }}``)."""
        if not isinstance(value, str) or "{{" not in value:
            return value
        import jinja2

        from promoter.pipeline import templating

        environment = templating.sandboxed_environment()
        context = {
            **self.run.values,
            "values": self.run.values,
            "target": {
                "environment": self.run.target.environment,
                "workspace": self.run.target.workspace,
            },
        }
        try:
            return templating.render(environment.from_string(value), context)
        except (templating.SecurityError, templating.TemplateLimitError, RecursionError) as exc:
            self.problem(
                f"parameter {name!r}: {templating.describe(exc)}",
                f"fix parameters.values.{name} in {self.pipeline_file}",
            )
        except jinja2.TemplateError as exc:
            self.problem(
                f"parameter {name!r}: template {value!r} cannot be rendered: {exc}",
                f"define the values it uses for target {self.run.target.environment} in {self.pipeline_file}",
            )
        except Exception as exc:  # a filter raising
            self.problem(
                f"parameter {name!r}: template {value!r} cannot be rendered: "
                f"{templating.describe(exc)}",
                f"fix parameters.values.{name} in {self.pipeline_file}",
            )
        return value

    def substitute_placeholders(self, name: str, value: Any, ref: ObjectRef | None) -> Any:
        """A parameter value read from Talend, its plain placeholders replaced (policy
        ``template``). Nothing is evaluated: Talend data is data. Any other expression, and a
        placeholder naming a value the target does not define, is a problem (the value is kept
        as it is)."""
        if not isinstance(value, str) or _EXPRESSION_START.search(value) is None:
            return value
        where = f"parameter {name!r} in {self.run.source}"  # the problem names the task
        parts: list[str] = []
        position = 0
        while (start := _EXPRESSION_START.search(value, position)) is not None:
            parts.append(value[position : start.start()])
            end = value.find("}}", start.end()) if start.group(0) == "{{" else -1
            placeholder = _PLACEHOLDER.fullmatch(value, start.end(), end) if end >= 0 else None
            if placeholder is None:
                closing = value.find("}}" if start.group(0) == "{{" else "%}", start.end())
                expression = value[start.start() : closing + 2 if closing >= 0 else len(value)]
                self.problem(
                    f"{where} holds {_shown(expression)}, an expression that is not a plain "
                    "placeholder; values read from Talend are data and are never evaluated",
                    f"in the source task, use only {_PLACEHOLDER_FORMS}; or set {name} under "
                    f"parameters.values in {self.pipeline_file}, or choose another "
                    "parameters.policy",
                    ref,
                )
                return value
            replacement = self._placeholder(where, placeholder, ref)
            if replacement is None:
                return value
            parts.append(replacement)
            position = end + 2
        parts.append(value[position:])
        return "".join(parts)

    def _placeholder(
        self, where: str, placeholder: re.Match[str], ref: ObjectRef | None
    ) -> str | None:
        if placeholder["target"] is not None:
            return str(getattr(self.run.target, placeholder["target"]))
        key = placeholder["value"] or placeholder["name"]
        text = "{{ " + placeholder.group(0).strip() + " }}"
        if key not in self.run.values:
            self.problem(
                f"{where}: placeholder {text} names {key!r}, which target "
                f"{self.run.target.environment} does not define",
                f"define {key} under the target's values (or values) in {self.pipeline_file}",
                ref,
            )
            return None
        found = self.run.values[key]
        if isinstance(found, SecretRef):
            self.problem(
                f"{where}: placeholder {text} names {key!r}, a secret; a secret is never pasted "
                "into a plain parameter",
                f"set the parameter under parameters.secrets in {self.pipeline_file}",
                ref,
            )
            return None
        return _text(found) or ""

    # ------------------------------------------------------------------ tasks

    def map_task(self, exported: ExportedObject, artifacts: dict[str, Body]) -> ExportedObject:
        src = exported.body
        ref = ObjectRef(kind=TASK, key=exported.key)
        current = self.target.read_task(exported.key)
        artifact = src["artifact"]["name"]
        parameters, secrets = self.parameters(
            src.get("parameters"), current.get("parameters") if current else None, ref
        )
        connections = None
        if src.get("connections") is not None:
            connections = {
                app: self.target_connection_name(name) for app, name in src["connections"].items()
            }
        if current is not None:
            run_config, schedule, resources = (
                current["runConfig"],
                current["schedule"],
                current["resources"],
            )
        else:
            run_config, resources = src["runConfig"], src["resources"]
            schedule = src["schedule"]
            if resources:
                self.problem(
                    f"task {exported.key!r} uses resources, which promoter cannot pair across environments yet",
                    "create the task in the target first, then promote it",
                    ref,
                )
            if schedule and not any(
                (s.description or s.id) == schedule for s in self.target.all_schedules
            ):
                self.problem(
                    f"task {exported.key!r} is scheduled by {schedule!r}, and {self.run.target.environment} has no schedule with that description",
                    f"create the schedule in {self.run.target.environment}, or unbind the task in the source",
                    ref,
                )
        if run_config is None:
            self.problem(
                f"task {exported.key!r} has no run configuration in the source or the target",
                "configure how it runs (trigger, runtime) in the source first",
                ref,
            )
        version = artifacts.get(artifact)
        for parameter in (version or {}).get("parameters", []):
            if (
                parameter["required"]
                and not parameters.get(parameter["name"])
                and not parameter.get("value")
            ):
                self.problem(
                    f"task {exported.key!r} needs a value for required parameter {parameter['name']!r} in {self.run.target}",
                    f"add it under parameters.values (or the target's values) in {self.pipeline_file}",
                    ref,
                )
        body: Body = {
            "name": src["name"],
            "description": src["description"],
            "artifact": {
                "name": artifact,
                "version": self.versions.get(artifact, src["artifact"]["version"]),
            },
            "parameters": parameters,
            "connections": connections,
            "resources": resources,
            "tags": src["tags"],
            "autoUpgradeInfo": src["autoUpgradeInfo"],
            "runConfig": run_config,
            "schedule": schedule,
        }
        if secrets:
            body["secrets"] = secrets
        return ExportedObject(kind=TASK, key=exported.key, body=body)

    # ------------------------------------------------------------------ all

    def map(self) -> TargetMapping:
        target = self.target
        target.prefetch(lists_read_for({obj.kind for obj in self.bundle.objects}))
        if target.environment is None:
            self.problem(
                f"target environment {target.environment_name!r} does not exist",
                f"check targets[].environment in {self.pipeline_file}",
            )
            return TargetMapping(target=self.run.target, problems=self.problems)
        objects: list[ExportedObject] = []
        if target.workspace is None:
            objects.append(
                ExportedObject(
                    kind=WORKSPACE,
                    key=target.workspace_name,
                    body={"name": target.workspace_name, "description": None},
                )
            )
        by_kind: dict[str, list[ExportedObject]] = {}
        for obj in self.bundle.objects:
            by_kind.setdefault(obj.kind, []).append(obj)
        artifacts: dict[str, Body] = {}
        for obj in by_kind.get(ARTIFACT_VERSION, []):
            artifacts[obj.body["name"]] = obj.body
            existing = target.read_artifact(obj.body["name"])
            if existing is not None and existing["type"] != obj.body["type"]:
                self.problem(
                    f"artifact {obj.body['name']!r} is a {existing['type']} artifact in {self.run.target}, "
                    f"not {obj.body['type']}",
                    "rename one of them",
                    obj.ref,
                )
            objects.append(
                ExportedObject(
                    kind=ARTIFACT_VERSION,
                    key=obj.key,
                    body={k: obj.body[k] for k in ("name", "type", "version")},
                )
            )
        seen_connections: set[str] = set()
        for obj in by_kind.get(CONNECTION, []):
            mapped = self.map_connection(obj)
            if mapped is not None and mapped.key not in seen_connections:
                seen_connections.add(mapped.key)
                objects.append(mapped)
        tasks = self.talend.client.map(
            lambda o: self.map_task(o, artifacts),
            by_kind.get(TASK, []),
            concurrency=self.settings.apply.concurrency,
        )
        objects.extend(tasks)
        objects.extend(
            ExportedObject(kind=PLAN, key=o.key, body=o.body) for o in by_kind.get(PLAN, [])
        )
        return TargetMapping(
            target=self.run.target,
            objects=objects,
            problems=self.problems,
            versions=self.versions,
            metadata={
                "repositories": self.bundle.metadata.get("repositories", {}),
            },
        )


def map_bundle(run: RunContext, bundle: ExportBundle) -> TargetMapping:
    """The objects the target must hold, and every problem found on the way."""
    return _Mapper(run, bundle).map()


@hookimpl(trylast=True)
def promoter_map(run: RunContext, bundle: ExportBundle) -> TargetMapping:
    """The built-in Talend mapping."""
    return map_bundle(run, bundle)


@hookimpl
def promoter_check_run(run: RunContext) -> None:
    """Refuse a run whose connection template is missing, does not parse, or reads a value no
    target defines — before the run is recorded. (Errors that need the source connection, such
    as a render that is not YAML, are found by map.)"""
    create = config(run).connections.create_missing
    if create is None:
        return
    import jinja2

    from promoter.pipeline import templating

    path = Path(create.template)
    if not path.is_absolute():
        path = run.pipeline_path.parent / path
    where = f"connections.create_missing.template in {run.loaded.display}"
    try:
        with path.open(encoding="utf-8") as handle:  # bounded: the path may name anything
            source = handle.read(templating.MAX_TEMPLATE_FILE_SIZE + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else None
        raise ConfigurationError(
            f"connection template {path} cannot be read: {reason or exc}",
            hint=f"check {where}",
        ) from None
    if len(source) > templating.MAX_TEMPLATE_FILE_SIZE:
        raise ConfigurationError(
            f"connection template {path} is larger than "
            f"{templating.MAX_TEMPLATE_FILE_SIZE // (1024 * 1024)} MiB",
            hint=f"check {where}",
        )
    try:
        tree = templating.sandboxed_environment().parse(source, name=path.name)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigurationError(
            f"{path}:{exc.lineno}: template syntax error: {exc.message}",
            hint="fix the connection template",
        ) from None
    except RecursionError:
        raise ConfigurationError(
            f"{path}: an expression is nested too deeply", hint="fix the connection template"
        ) from None
    known = {*run.values, *create.values}
    # `values.x | default(...)` and `values.x is defined` may be undefined on purpose.
    guarded = {
        id(node.node)
        for node in tree.find_all((jinja2.nodes.Filter, jinja2.nodes.Test))
        if node.name in ("default", "d", "defined", "undefined")
    }
    for node in tree.find_all(jinja2.nodes.Getattr):
        reads_values = isinstance(node.node, jinja2.nodes.Name) and node.node.name == "values"
        if reads_values and id(node) not in guarded and node.attr not in known:
            raise ConfigurationError(
                f"{path}:{node.lineno}: values.{node.attr} is not defined for target "
                f"{run.target}",
                hint=f"define {node.attr} under the target's values in {run.loaded.display}",
            )
