"""Pipeline files: broken ones exit 2 naming file:line and key, with nothing written anywhere.

The files here are the format users write: core keys and the Talend plugin's sections
(``artifacts``, ``apply``...), plus the fake platform's ``fake:`` section — so the Talend plugin
stays enabled (the estate fixture disables it for the engine's tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine.estate import Estate

from promoter.cli import main
from promoter.context import RunOptions
from promoter.engine import build_context
from promoter.errors import PipelineError
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import get_plugin_manager
from promoter.pipeline import SecretRef, Secrets, load_pipeline
from promoter.talend.plugin.sections import config


@pytest.fixture(autouse=True)
def _talend_sections(estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the built-in Talend plugin (which ``estate`` disables for the engine's tests): its
    sections are part of the file format."""
    monkeypatch.delenv("PROMOTER_DISABLE_PLUGINS", raising=False)

REPO = Path(__file__).resolve().parents[2]

BASE = """\
name: finance-release
kind: release
source:
  environment: dev
  workspace: Finance
targets:
  - environment: test
  - environment: prod
artifacts:
  - name: daily_load
    version: latest
apply:
  concurrency: 4
reports:
  formats: []
plugins:
  - ./fake_target.py
fake:
  source: source.json
  target: target.json
"""


def edit(*replacements: tuple[str, str]) -> str:
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# (id, pipeline text, line, key, a fragment of the message)
BROKEN: list[tuple[str, str, int, str | None, str]] = [
    ("yaml-syntax", edit(("  formats: []", "  formats: [json")), 16, None, "YAML syntax error"),
    (
        "yaml-duplicate-key",
        edit(("kind: release\n", "kind: release\nkind: hotfix\n")),
        3,
        None,
        "duplicate key",
    ),
    (
        "yaml-bad-indent",
        edit(("    version: latest", "   version: latest")),
        11,
        None,
        "YAML syntax error",
    ),
    (
        "unknown-top-level-key",
        edit(("apply:", "artefacts: []\napply:")),
        12,
        "artefacts",
        "unknown key",
    ),
    (
        "unknown-nested-key",
        edit(("  concurrency: 4", "  concurency: 4")),
        13,
        "apply.concurency",
        "did you mean 'concurrency'?",
    ),
    (
        "wrong-type",
        edit(("  concurrency: 4", "  concurrency: many")),
        13,
        "apply.concurrency",
        "valid integer",
    ),
    (
        "out-of-range",
        edit(("  concurrency: 4", "  concurrency: 0")),
        13,
        "apply.concurrency",
        "greater than or equal to 1",
    ),
    (
        "missing-nested-field",
        edit(("  - environment: prod", "  - approval: required")),
        8,
        "targets[1].environment",
        "field required",
    ),
    (
        "missing-section",
        edit(("source:\n  environment: dev\n  workspace: Finance\n", "")),
        1,
        "source",
        "field required",
    ),
    ("bad-enum", edit(("kind: release", "kind: patch")), 2, "kind", "'release' or 'hotfix'"),
    (
        "empty-list",
        edit(("artifacts:\n  - name: daily_load\n    version: latest\n", "artifacts: []\n")),
        9,
        "artifacts",
        "at least 1 item",
    ),
    (
        "jinja-syntax",
        edit(("    version: latest", "    version: {% if %}")),
        11,
        "artifacts[0].version",
        "template syntax error",
    ),
    (
        "undefined-variable",
        edit(("    version: latest", '    version: "{{ version }}"')),
        11,
        "artifacts[0].version",
        "'version' is undefined",
    ),
    (
        "undefined-env-variable",
        edit(("  workspace: Finance", "  workspace: {{ env.NOT_SET_XYZ }}")),
        5,
        "source.workspace",
        "environment variable 'NOT_SET_XYZ' is not set",
    ),
    (
        "unresolvable-env-secret",
        BASE + "parameters:\n  secrets:\n    DB_PASSWORD: ${env:NOT_SET_SECRET_XYZ}\n",
        23,
        "parameters.secrets.DB_PASSWORD",
        "environment variable NOT_SET_SECRET_XYZ is not set",
    ),
    (
        "unresolvable-file-secret",
        BASE + "values:\n  token: ${file:secrets/missing.txt}\n",
        22,
        "values.token",
        "does not exist",
    ),
    (
        "unknown-secret-scheme",
        BASE + "values:\n  token: ${vault:finance/db}\n",
        22,
        "values.token",
        "not a valid secret reference",
    ),
    (
        "secret-where-plain-text",
        edit(("  workspace: Finance", "  workspace: ${env:HOME}")),
        5,
        "source.workspace",
        "secret reference is not allowed here",
    ),
    (
        "hotfix-two-artifacts",
        edit(
            ("kind: release", "kind: hotfix"),
            ("    version: latest\n", "    version: latest\n  - name: other\n"),
        ),
        9,
        "artifacts",
        "exactly one artifact",
    ),
    (
        "duplicate-target",
        edit(("  - environment: prod", "  - environment: test")),
        8,
        "targets[1].environment",
        "listed twice",
    ),
    (
        "freeze-window-backwards",
        BASE
        + "gates:\n  freeze:\n    - start: 2026-02-01T00:00:00Z\n      end: 2026-01-01T00:00:00Z\n",
        23,
        "gates.freeze[0]",
        "end must be after start",
    ),
    (
        "plugin-section-wrong-type",
        BASE + "  apply_delay: slow\n",
        21,
        "fake.apply_delay",
        "valid number",
    ),
    ("not-a-mapping", "- name: x\n- name: y\n", 1, None, "must be a mapping"),
    ("empty-file", "# nothing here\n", 1, None, "empty"),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "fragment"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_pipeline_exits_2_with_file_line_and_key(
    estate: Estate,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    line: int,
    key: str | None,
    fragment: str,
) -> None:
    monkeypatch.chdir(estate.root)
    (estate.root / "broken.yaml").write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["promote", "broken.yaml", "--yes"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    where = f"broken.yaml:{line}: " + (f"{key}: " if key else "")
    assert where in err, err
    assert fragment in err, err
    assert not (estate.root / ".promoter").exists(), "nothing may be written to the ledger"
    assert not estate.target.exists(), "nothing may be written to the target"


def test_json_output_lists_every_problem(
    estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(estate.root)
    text = edit(("  concurrency: 4", "  concurrency: many"), ("kind: release", "kind: patch"))
    (estate.root / "broken.yaml").write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "broken.yaml", "--output", "json"])
    assert exit_info.value.code == 2
    document = json.loads(capsys.readouterr().out)
    assert [(p["line"], p["key"]) for p in document["problems"]] == [
        (2, "kind"),
        (13, "apply.concurrency"),
    ]
    assert document["exit_code"] == 2


def test_a_valid_file_with_variables_and_per_target_values(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINANCE_WS", "Finance")
    monkeypatch.setenv("DB_PASSWORD_FOR_TEST", "pw")
    text = (
        edit(
            ("  workspace: Finance", "  workspace: {{ env.FINANCE_WS }}"),
            ("    version: latest", '    version: "{{ version }}"'),
            ("  - environment: test", "  - environment: test\n    values: {db_host: test-db}"),
        )
        + "values:\n  db_host: default-db\n  password: ${env:DB_PASSWORD_FOR_TEST}\n"
    )
    path = estate.root / "ok.yaml"
    path.write_text(text)
    hooks = PromoterHooks(get_plugin_manager(load_entrypoints=False))
    loaded = load_pipeline(path, variables={"version": "1.4.2"}, hooks=hooks)
    assert loaded.pipeline.source.workspace == "Finance"
    assert loaded.plugins == ["fake_target"]
    assert type(loaded.sections["fake"]).__name__ == "FakeSection"

    def context(target: str, **variables: str) -> Any:
        options = RunOptions(yes=True, variables=variables)
        return build_context(loaded, target=target, options=options, command="promote")

    run = context("test", extra="x")
    assert config(run).artifacts[0].version == "1.4.2"
    assert run.values["db_host"] == "test-db"
    assert run.values["extra"] == "x"
    ref = run.values["password"]
    assert isinstance(ref, SecretRef) and str(ref) == "${env:DB_PASSWORD_FOR_TEST}"
    assert run.secrets.resolve(ref) == "pw"
    assert context("prod").values["db_host"] == "default-db"


def test_file_secrets_resolve_relative_to_the_pipeline(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db").write_text("hunter2\n")
    secrets = Secrets(tmp_path, environ={})
    ref = SecretRef.parse("${file:secrets/db}")
    assert secrets.problem(ref) is None
    assert secrets.resolve(ref) == "hunter2"
    assert secrets.redact("password=hunter2") == "password=***"
    assert repr(ref) == "SecretRef(${file:secrets/db})"


def test_example_pipelines_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINANCE_DB_PASSWORD", "example")
    release = load_pipeline(REPO / "pipelines" / "release.yaml")
    assert [t.environment for t in release.pipeline.targets] == ["test", "prod"]
    parameters = release.sections["parameters"]
    assert parameters.secrets["DB_PASSWORD"] == SecretRef(  # type: ignore[attr-defined]
        "env", "FINANCE_DB_PASSWORD"
    )
    hotfix = load_pipeline(REPO / "pipelines" / "hotfix.yaml", variables={"version": "1.4.3"})
    assert hotfix.pipeline.kind == "hotfix" and hotfix.pipeline.requires_reason
    assert len(hotfix.sections["artifacts"].root) == 1  # type: ignore[attr-defined]


def test_example_release_needs_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINANCE_DB_PASSWORD", raising=False)
    with pytest.raises(PipelineError) as info:
        load_pipeline(REPO / "pipelines" / "release.yaml")
    assert "parameters.secrets.DB_PASSWORD" in str(info.value)
