"""Every command's ``--output json`` error has the same shape: ``error``, ``hint``,
``exit_code``, ``type`` (and ``problems`` for an invalid pipeline file) — for promoter's own
commands and the Talend plugin's alike, for a bad argument click refuses as for an error the
command meets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promoter.cli import main

SHAPE = {"error", "hint", "exit_code", "type"}

# command line (without --output json) -> the exit code it must end with
BAD_ARGUMENTS: list[tuple[list[str], int]] = [
    (["history", "--limit", "0"], 2),
    (["show", "no-such-run"], 2),
    (["validate", "missing.yaml"], 2),
    (["plan", "missing.yaml"], 2),
    (["promote", "missing.yaml", "--yes"], 2),
    (["resume", "no-such-run"], 2),
    (["rollback", "no-such-run"], 2),
    (["unlock", "test/Finance", "--ledger", "ftp://nowhere/ledger"], 2),
    (["plugins", "-p", "no_such_plugin_module_xyz"], 2),
    (["init", "--environments", "dev"], 2),
    (["ledger", "migrate", "--ledger", "ftp://nowhere/ledger"], 2),
    (["ledger", "export", "out.json", "--ledger", "ftp://nowhere/ledger"], 2),
    (["ledger", "import", "missing.json"], 2),
    (["diff", "--from", "dev"], 2),
    (["export", "missing.yaml"], 2),
    (["executions", "--since", "soon"], 2),
    (["runs", "--since", "soon"], 2),
    (["logs", "some-execution"], 2),
]


@pytest.mark.parametrize(
    ("args", "code"), BAD_ARGUMENTS, ids=[" ".join(a[:2]) for a, _ in BAD_ARGUMENTS]
)
def test_every_command_fails_with_one_json_shape(
    args: list[str],
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TALEND_API_URL", "TALEND_REGION", "TALEND_ACCESS_TOKEN", "PROMOTER_LEDGER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--output", "json"])
    out = capsys.readouterr().out
    document = json.loads(out)
    assert SHAPE <= set(document) <= SHAPE | {"problems"}, document
    assert exit_info.value.code == document["exit_code"] == code, document
    assert isinstance(document["error"], str) and document["error"]
    assert document["type"].isidentifier()


def test_the_shape_is_the_same_for_an_invalid_pipeline_file_with_its_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("name: x\nsource: {environment: dev}\n")
    with pytest.raises(SystemExit):
        main(["validate", "broken.yaml", "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert set(document) == SHAPE | {"problems"}
    assert {"file", "line", "key", "message"} == set(document["problems"][0])
