"""The dashboard reads the PostgreSQL ledger as it reads the SQLite one: the story's history,
moved to PostgreSQL with ``promoter ledger export``/``import``, gives the same pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ledger.conftest import postgres_server, postgres_url  # noqa: F401  (fixtures, reused)

from .conftest import PASSWORD, Story, cli

GENERATED = re.compile(r"generated from the ledger [^<]*")


def pages(site: Path) -> dict[str, str]:
    """Every page of a site, its generation time left out."""
    return {
        str(p.relative_to(site)): GENERATED.sub("generated", p.read_text())
        for p in sorted(site.rglob("*.html"))
    }


def test_the_postgresql_ledger_gives_the_same_pages(
    story: Story, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("FINANCE_DB_PASSWORD", PASSWORD)
    monkeypatch.setenv("PROMOTER_DISABLE_PLUGINS", "sample")
    monkeypatch.chdir(story.workdir)
    history = tmp_path / "history.jsonl"
    assert cli("ledger", "export", str(history), "--ledger", str(story.ledger))[0] == 0
    code, _, err = cli("ledger", "import", str(history), "--ledger", postgres_url)
    assert code == 0, err

    sites = {}
    for name, ledger in (("sqlite", str(story.ledger)), ("postgresql", postgres_url)):
        out = tmp_path / name
        code, _, err = cli(
            "dashboard", "pipelines/release.yaml", "--no-check", "--out", str(out), "--ledger", ledger
        )
        assert code == 0, err
        sites[name] = pages(out)
    sqlite, postgresql = sites["sqlite"], sites["postgresql"]
    assert sorted(postgresql) == sorted(sqlite)
    for path, text in sqlite.items():
        assert postgresql[path] == text, path
    # The ledger only: no drift or health read, and no log read from the platform.
    assert "drift and health not checked" in sqlite["index.html"]
    assert not any(path.startswith("logs/") for path in sqlite) and "logs/" not in "".join(sqlite.values())
    assert f"runs/{story.prod_run}/report.html" in sqlite and f"releases/{story.r2}.html" in sqlite
