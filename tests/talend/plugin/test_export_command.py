"""`promoter export FILE [--out bundle.json] [--output json]`: the export stage alone, its typed
bundle as JSON."""

from __future__ import annotations

import json

import pytest
from conftest import StageRun

from promoter.cli import main as promoter_main
from promoter.model import ExportBundle
from promoter.talend.plugin.workspace import is_fingerprint

PIPELINE = "pipelines/release.yaml"
NEWEST = {
    "finance_daily_load": "0.3.0.20261031080000",
    "finance_ledger_sync": "1.1.0.20261102080000",
}


def export_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        promoter_main(["export", *args])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def test_export_writes_the_bundle_for_review_and_nothing_else(
    stage_run: StageRun, capsys: pytest.CaptureFixture[str]
) -> None:
    mark = stage_run.mark()
    code, out, err = export_cli(capsys, PIPELINE, "--out", "review/bundle.json")
    assert code == 0, err
    assert out == ""
    path = stage_run.root / "review" / "bundle.json"
    assert (
        err.strip()
        == f"exported 7 object(s) from dev/Finance to {path.relative_to(stage_run.root)}"
    )

    text = path.read_text()
    bundle = ExportBundle.model_validate_json(text)
    assert bundle.source.key == "dev/Finance"
    assert bundle.versions == NEWEST
    assert sorted(str(o.ref) for o in bundle.objects) == [
        f"artifact_version:finance_daily_load@{NEWEST['finance_daily_load']}",
        f"artifact_version:finance_ledger_sync@{NEWEST['finance_ledger_sync']}",
        "connection:bank_feed",
        "connection:finance_warehouse",
        "plan:Finance nightly",
        "task:Finance daily load",
        "task:Finance ledger sync",
    ]
    task = next(o for o in bundle.objects if o.key == "Finance daily load")
    # dev's task, as dev runs it (map binds it to the target's connections and values later)
    assert task.body["artifact"] == {
        "name": "finance_daily_load",
        "version": NEWEST["finance_daily_load"],
    }
    assert task.body["parameters"]["DB_SCHEMA"] == "finance_dev"
    assert task.body["runConfig"]["trigger"]["type"] == "DAILY"
    # Secrets are fingerprints: whether they change shows, their values never do.
    warehouse = next(o for o in bundle.objects if o.key == "finance_warehouse")
    assert is_fingerprint(warehouse.body["parameters"]["password"])
    assert "dev-warehouse-password" not in text and "dev-bank-private-key" not in text
    # Only reads: nothing written to Talend, no run in the ledger.
    assert stage_run.writes_since(mark) == []
    assert stage_run.ledger.list_runs(limit=10) == []


def test_export_prints_the_bundle_without_an_output_file(
    stage_run: StageRun, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = export_cli(
        capsys, PIPELINE, "--target", "prod", "--var", "version=0.2.*", "--output", "json"
    )
    assert code == 0
    bundle = json.loads(out)
    assert bundle["versions"]["finance_daily_load"] == "0.2.0.20260921080000"
    assert ExportBundle.model_validate(bundle).source.key == "dev/Finance"


def test_export_errors_say_what_to_fix(
    stage_run: StageRun, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = export_cli(capsys, PIPELINE, "--var", "version=9.9")
    assert code == 2
    assert "artifact 'finance_daily_load' has no version matching '9.9'" in err
    assert "hint: use an exact version, 'latest', or a pattern" in err

    code, _out, err = export_cli(capsys, PIPELINE, "--target", "qa")
    assert code == 2
    assert f"pipeline {PIPELINE} has no target 'qa'" in err and "one of: test, prod" in err
