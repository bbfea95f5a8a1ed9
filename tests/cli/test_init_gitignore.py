"""``promoter init`` keeps promoter's local files out of Git: it writes a ``.gitignore``, or
appends to the project's own the lines it lacks (never rewriting one)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from ux.conftest import run_cli

from promoter.cli.init import GITIGNORE_LINES


def init(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_")}
    return run_cli("init", str(directory), *args, env=env)


def ignored(repository: Path, *paths: str) -> set[str]:
    """Which of ``paths`` Git ignores in ``repository``."""
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths],
        cwd=repository, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return set(done.stdout.split())


def test_init_writes_a_gitignore(tmp_path: Path) -> None:
    done = init(tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"wrote {tmp_path / '.gitignore'}" in done.stdout
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[0].startswith("# promoter") and lines[1:] == list(GITIGNORE_LINES)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    local = [
        ".promoter/ledger.db", ".promoter/ledger.db-wal", ".promoter/ledger.db-shm",
        "ledger.db", "ledger.db-wal", "sandbox.db", "sandbox.db-wal", "sandbox.db-shm",
        "reports/20261129-031500-a1b2c3/run.json",
    ]  # fmt: skip
    assert ignored(tmp_path, *local, "pipelines/release.yaml") == set(local)


def test_init_appends_only_what_an_existing_gitignore_lacks(tmp_path: Path) -> None:
    mine = "node_modules/\n# ours\nreports/\n.promoter/"  # no newline at the end
    (tmp_path / ".gitignore").write_text(mine)
    done = init(tmp_path, "--output", "json")
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)["gitignore"]["added"]
    assert added == [line for line in GITIGNORE_LINES if line not in ("reports/", ".promoter/")]
    text = (tmp_path / ".gitignore").read_text()
    assert text.startswith(mine + "\n")
    assert text.count("reports/") == 1 and text.count(".promoter/") == 1
    assert all(line in text.splitlines() for line in GITIGNORE_LINES)


def test_a_complete_gitignore_is_left_as_it_is(tmp_path: Path) -> None:
    text = "\n".join(GITIGNORE_LINES) + "\n"
    (tmp_path / ".gitignore").write_text(text)
    done = init(tmp_path)
    assert done.returncode == 0, done.stderr
    assert ".gitignore" not in done.stdout
    assert (tmp_path / ".gitignore").read_text() == text


def test_the_repository_ignores_sqlite_side_files() -> None:
    repository = Path(__file__).resolve().parents[2]
    paths = ["sandbox.db-wal", "sandbox.db-shm", "demo/ledger.db-wal", "demo/ledger.db-shm"]
    assert ignored(repository, *paths) == set(paths)
