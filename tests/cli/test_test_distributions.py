"""The tests' own distributions (``tests/distributions/*``: the sample plugin) are where the tests
run and nowhere else: ``make`` installs them into ``.venv/test-distributions``, which
``tests/conftest.py`` puts on ``sys.path`` and ``PYTHONPATH``. ``make demo``'s environment — this
one without that path — has no ``sample`` plugin, no ``--sample-block``, no ``sample`` gate."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from ux.conftest import run_cli

PROBE = "import importlib.metadata as m; print(sorted(e.name for e in m.entry_points(group='promoter')))"


def users_environment() -> dict[str, str]:
    """The environment `make demo` runs in: the tests' path is not in it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_")}
    env.pop("PYTHONPATH", None)
    return env


def test_the_tests_see_the_sample_plugin_in_process() -> None:
    [sample] = [e for e in importlib.metadata.entry_points(group="promoter") if e.name == "sample"]
    assert sample.dist is not None
    location = Path(str(sample.dist.locate_file("")))
    assert location == Path(sys.prefix) / "test-distributions"


def test_the_tests_see_it_in_the_commands_they_start() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMOTER_DISABLE_PLUGINS"}
    listed = run_cli("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "sample  (entrypoint: promoter-sample-plugin 0.1.0)" in listed.stdout
    assert "--sample-block" in run_cli("promote", "--help", env=env).stdout


def test_the_users_environment_does_not() -> None:
    env = users_environment()
    found = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "'sample'" not in found and "'git'" in found  # first-party plugins are products
    listed = run_cli("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "sample" not in listed.stdout
    assert "--sample-block" not in run_cli("promote", "--help", env=env).stdout

