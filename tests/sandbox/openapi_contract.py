"""Talend's published OpenAPI specs (2021-03) as the contract the sandbox's answers are checked against.

The specs live outside the project (``../shared/reference/openapi`` next to the repository, or the
directory named by ``PROMOTER_OPENAPI_DIR``) and are read where they are, never copied. A response
body is validated with ``openapi_schema_validator.OAS30Validator`` against the schema the spec gives
for that operation and status code, its ``$ref``s resolved through ``referencing`` in the spec
document itself.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_DIR_ENV = "PROMOTER_OPENAPI_DIR"
SPEC_FILES = (
    "orchestration-openapi.json",
    "processing-openapi.json",
    "execution-logs-openapi.json",
    "oauth-openapi.json",
)
_HTTP_METHODS = ("get", "post", "put", "delete", "patch")

#: Served routes that are no spec operation, and the operation whose contract they keep.
ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/processing/executables/tasks"): ("GET", "/orchestration/executables/tasks"),
    ("GET", "/monitoring/executions/{id}/log"): ("GET", "/monitoring/executions/{id}/logs"),
}


#: Divergences from the specs known and reported but not the sandbox's to fix (they live in the
#: wire models or the seed): the exact problems tolerated, per served route. A test checks that
#: each still occurs, so that a fix must also remove its entry here.
KNOWN_DIVERGENCES: dict[tuple[str, str], set[str]] = {
    # The spec's 202 (a promotion still running) has no body, yet a client must learn the
    # execution id to poll GET /processing/executions/promotions/{executionId}: the sandbox
    # answers {executionId} (the 201 schema, Execution, without its report).
    ("POST", "/processing/executions/promotions"): {"(body): the spec declares no body for 202"},
}


class SpecsMissing(Exception):
    """Talend's OpenAPI specs are not where the tests look for them."""


def spec_dir() -> Path:
    """Where the specs are: ``$PROMOTER_OPENAPI_DIR`` or ``<repo>/../shared/reference/openapi``."""
    configured = os.environ.get(SPEC_DIR_ENV)
    directory = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "openapi"
    )
    missing = [name for name in SPEC_FILES if not (directory / name).is_file()]
    if missing:
        raise SpecsMissing(
            f"Talend's OpenAPI specs are missing: {', '.join(missing)} not found in {directory}. "
            "They are the contract the sandbox is tested against and are not copied into the "
            f"project: put them in ../shared/reference/openapi next to the repository, or set "
            f"{SPEC_DIR_ENV} to the directory that holds them."
        )
    return directory


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Operation:
    """One operation of one spec document."""

    document: str
    method: str
    path: str
    body: dict[str, Any]

    @property
    def declared_statuses(self) -> set[int]:
        """The status codes the spec declares for this operation."""
        return {int(code) for code in self.body.get("responses", {}) if code.isdigit()}


class Contract:
    """Every operation of the specs, and the validation of response bodies against them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.documents: dict[str, dict[str, Any]] = {}
        resources = []
        for name in SPEC_FILES:
            document = json.loads((directory / name).read_text(encoding="utf-8"))
            self.documents[name] = document
            resources.append((self._uri(name), Resource.from_contents(document, default_specification=DRAFT4)))
        self.registry: Registry[Any] = Registry().with_resources(resources)
        self.operations: dict[tuple[str, str], Operation] = {}
        for name, document in self.documents.items():
            for path, item in document.get("paths", {}).items():
                for method, body in item.items():
                    if method in _HTTP_METHODS:
                        self.operations[(method.upper(), path)] = Operation(name, method.upper(), path, body)

    @staticmethod
    def _uri(document: str) -> str:
        return f"urn:talend-openapi:{document}"

    def operation(self, method: str, path: str) -> Operation:
        """The spec's operation for ``method path`` (the spec's own path template)."""
        try:
            return self.operations[(method.upper(), path)]
        except KeyError:
            raise AssertionError(f"the published specs have no operation {method} {path}") from None

    def response_schema_ref(self, operation: Operation, status: int) -> tuple[str | None, bool]:
        """The ``$ref`` of the response body schema for ``status``, and whether the spec declares
        that status. Undeclared error statuses, and declared ones without a body schema, are
        checked against the document's ``ErrorResponse`` (the oauth spec has none: the
        orchestration spec's, the same shape, stands in)."""
        response = operation.body.get("responses", {}).get(str(status))
        declared = response is not None
        if response is not None:
            content = response.get("content") or {}
            if "application/json" in content and "schema" in content["application/json"]:
                pointer = "/".join(
                    ("#", "paths", _escape(operation.path), operation.method.lower(), "responses",
                     str(status), "content", "application~1json", "schema")
                )
                return self._uri(operation.document) + pointer, declared
        if status >= 400:
            document = operation.document
            if "ErrorResponse" not in self.documents[document].get("components", {}).get("schemas", {}):
                document = "orchestration-openapi.json"
            return self._uri(document) + "#/components/schemas/ErrorResponse", declared
        return None, declared

    def validate(self, operation: Operation, status: int, body: Any) -> list[str]:
        """Problems of ``body`` as the answer ``status`` of ``operation`` (empty: it conforms)."""
        ref, _declared = self.response_schema_ref(operation, status)
        if ref is None:
            return [] if body is None else [f"(body): the spec declares no body for {status}"]
        validator = OAS30Validator(
            {"$ref": ref}, registry=self.registry, format_checker=OAS30Validator.FORMAT_CHECKER
        )
        problems = []
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            problems.append(f"{where}: {error.message}")
        problems.extend(f"{where}: not in the spec" for where in self.undeclared_fields(ref, body))
        return problems

    # ------------------------------------------------------------------ strictness

    def _resolve(self, ref: str) -> dict[str, Any]:
        uri, _, fragment = ref.partition("#")
        node: Any = self.documents[uri.removeprefix("urn:talend-openapi:")]
        for token in fragment.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict)
        return node

    def undeclared_fields(self, ref: str, body: Any) -> list[str]:
        """Paths of object members the spec does not declare. The specs never close their objects
        (no ``additionalProperties: false``), so JSON Schema lets such members through; they are
        still worth knowing: a misspelt wire name shows up here and nowhere else."""
        uri = ref.partition("#")[0]
        return list(self._undeclared(uri, self._resolve(ref), body, ""))

    def _undeclared(self, uri: str, schema: dict[str, Any], value: Any, where: str) -> Iterator[str]:
        while "$ref" in schema:
            target = schema["$ref"]
            schema = self._resolve(target if not target.startswith("#") else uri + target)
        if isinstance(value, dict) and "properties" in schema:
            properties: dict[str, Any] = schema["properties"]
            for key, member in value.items():
                path = f"{where}/{key}" if where else key
                if key not in properties:
                    yield path
                else:
                    yield from self._undeclared(uri, properties[key], member, path)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                yield from self._undeclared(uri, schema["items"], item, f"{where}/{index}" if where else str(index))


class Recorder(Protocol):
    """Where checked operations are noted (the session's table, see ``tests/conftest.py``)."""

    def record(self, method: str, spec_path: str, served_path: str, status: str) -> None:
        """Note that ``status`` of ``method spec_path`` was validated (served at ``served_path``)."""


# ---------------------------------------------------------------------- checked requests


class CheckedApi:
    """Real HTTP requests to a sandbox whose answers are checked against the contract.

    :meth:`check` sends a request to a served route (its template and path values), asserts the
    status, validates the body against the spec operation of the route (or of the operation it
    aliases) for that status, and records the operation and status in the coverage table.
    """

    def __init__(self, client: httpx.Client, contract: Contract, table: Recorder) -> None:
        self.client = client
        self.contract = contract
        self.table = table
        self.checked: dict[tuple[str, str], set[int]] = defaultdict(set)

    def check(
        self,
        method: str,
        route: str,
        expect: int,
        *,
        path: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send ``method route`` (``path`` fills the template), expect ``expect``, validate."""
        url = route.format(**{k: quote(v, safe="") for k, v in (path or {}).items()})
        response = self.client.request(method, url, **kwargs)
        assert response.status_code == expect, (
            f"{method} {url}: expected {expect}, got {response.status_code}: {response.text[:600]}"
        )
        self.validate(method, route, response)
        return response

    def validate(self, method: str, route: str, response: httpx.Response) -> None:
        """Validate an answer of ``method route`` against its operation and record it."""
        spec_method, spec_path = ALIASES.get((method, route), (method, route))
        operation = self.contract.operation(spec_method, spec_path)
        status = response.status_code
        body: Any = None
        if response.content:
            assert response.headers.get("content-type", "").startswith("application/json"), (
                f"{method} {route} {status}: body is not JSON: {response.headers.get('content-type')}"
            )
            body = response.json()
        tolerated = KNOWN_DIVERGENCES.get((method, route), set())
        problems = [p for p in self.contract.validate(operation, status, body) if p not in tolerated]
        assert not problems, (
            f"{method} {response.request.url.path} answered {status} with a body that does not "
            f"conform to {operation.document} {spec_method} {spec_path}:\n  "
            + "\n  ".join(problems)
            + f"\nbody: {json.dumps(body)[:1500]}"
        )
        if status >= 400:
            assert body is not None and body["status"] == status, f"error body without its status: {body!r}"
        declared = status in operation.declared_statuses
        self.table.record(spec_method, spec_path, route, f"{status}{'' if declared else '*'}")
        self.checked[(method, route)].add(status)
