"""``promoter init``: commented, valid pipeline files and a template; never overwrites."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import Invoke

FILES = [
    ".gitignore",
    "pipelines/hotfix.yaml",
    "pipelines/release.yaml",
    "templates/connections/database.yaml.j2",
]


def written(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_init_scaffolds_valid_commented_files(tmp_path: Path, invoke: Invoke) -> None:
    env = dict(os.environ)
    result = invoke("init", str(tmp_path), "--name", "sales", "--workspace", "Sales", env=env)
    assert result.returncode == 0, result.stderr
    assert written(tmp_path) == FILES
    release = (tmp_path / "pipelines/release.yaml").read_text()
    comments = [line for line in release.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 8 and "promoter validate pipelines/release.yaml" in release
    assert "approval: required" in release  # the last target, prod
    checked = invoke("validate", str(tmp_path / "pipelines/release.yaml"), env=env)
    assert checked.returncode == 0, checked.stderr
    assert "valid release pipeline 'sales' (dev/Sales -> test/Sales, prod/Sales)" in checked.stdout
    hotfix = invoke(
        "validate", str(tmp_path / "pipelines/hotfix.yaml"), "--var", "version=1.2.3", env=env
    )
    assert hotfix.returncode == 0, hotfix.stderr
    assert "valid hotfix pipeline 'sales-hotfix' (test/Sales -> prod/Sales)" in hotfix.stdout


def test_init_with_other_environments(tmp_path: Path, invoke: Invoke) -> None:
    env = dict(os.environ)
    result = invoke("init", str(tmp_path), "--environments", "qa,live", env=env)
    assert result.returncode == 0, result.stderr
    checked = invoke("validate", str(tmp_path / "pipelines/release.yaml"), env=env)
    assert "(qa/Default -> live/Default)" in checked.stdout
    assert invoke("init", str(tmp_path / "x"), "--environments", "dev", env=env).returncode == 2


def test_init_refuses_to_overwrite(tmp_path: Path, invoke: Invoke) -> None:
    env = dict(os.environ)
    (tmp_path / "pipelines").mkdir()
    mine = tmp_path / "pipelines/release.yaml"
    mine.write_text("name: mine\n")
    result = invoke("init", str(tmp_path), env=env)
    assert result.returncode == 2
    assert f"{mine} already exist(s); nothing written" in result.stderr
    assert mine.read_text() == "name: mine\n"
    assert written(tmp_path) == ["pipelines/release.yaml"]  # nothing else either
