"""Scenario 4: how long the ``promoter`` command takes to start (best of several runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def promoter_command() -> list[str]:
    """The installed ``promoter`` script next to this Python, else ``python -m promoter.cli``."""
    script = Path(sys.executable).with_name("promoter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "promoter.cli"]


def best_start(arguments: list[str], *, repeat: int = 5) -> dict[str, object]:
    """The best and the median wall time of ``promoter ARGUMENTS`` over ``repeat`` runs."""
    times = []
    # Any value of PYTHONDONTWRITEBYTECODE (even "0") stops Python writing its caches.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([*promoter_command(), *arguments], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    ordered = sorted(times)
    return {
        "command": "promoter " + " ".join(arguments),
        "best_seconds": round(ordered[0], 4),
        "median_seconds": round(ordered[len(ordered) // 2], 4),
        "runs": repeat,
    }


def heavy_modules_at_start(arguments: list[str]) -> list[str]:
    """Which of pydantic, httpx, fastapi, jinja2, sqlalchemy ``promoter ARGUMENTS`` imports."""
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['promoter', *{arguments!r}]\n"
        "try:\n"
        "    runpy.run_module('promoter.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('pydantic', 'httpx', 'fastapi', 'jinja2', 'sqlalchemy', 'pluggy', 'ruamel')\n"
        "print('HEAVY:' + ','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("HEAVY:"))
    return [m for m in line.removeprefix("HEAVY:").split(",") if m]
