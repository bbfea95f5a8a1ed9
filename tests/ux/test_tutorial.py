"""docs/writing-a-plugin.md works verbatim from an empty folder.

The tutorial's convention (stated in it): ```` ```console ```` blocks are commands, run in order
in one shell; a block whose info string has ``title="PATH"`` is the content of that file (relative
to the shell's directory at that point), and a later block with the same title continues it.
Every other block is shown, not run.

The commands run in an empty temporary folder, in a fresh virtual environment that has promoter:
its ``site-packages`` sees this environment's (promoter, pydantic, pytest; not the tests' own
distributions) and its ``bin`` has a ``promoter`` script, so the tutorial's ``pip install -e .``
installs the plugin into it for real. The sandbox the tutorial asks for runs here, on a free
port, as its step 7 says (``TALEND_API_URL``, ``TALEND_ACCESS_TOKEN``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO, fast_sandbox

TUTORIAL = REPO / "docs" / "writing-a-plugin.md"
_FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M)
_TITLE = re.compile(r'\btitle="(?P<path>[^"]+)"')


@dataclass(frozen=True)
class Step:
    """One thing the tutorial does: run ``text`` (commands), or write ``text`` to ``path``."""

    path: str | None
    text: str
    append: bool = False


def tutorial_steps(markdown: str) -> list[Step]:
    """The tutorial's commands and files, in order (see the module's docstring)."""
    steps: list[Step] = []
    seen: set[str] = set()
    for block in _FENCE.finditer(markdown):
        info, body = block["info"].strip(), block["body"]
        language = info.split()[0] if info else ""
        title = _TITLE.search(info)
        if title is not None:
            path = title["path"]
            steps.append(Step(path, body, append=path in seen))
            seen.add(path)
        elif language == "console":
            steps.append(Step(None, body))
    return steps


def shell_script(steps: list[Step]) -> str:
    """One bash script doing the steps: commands as written, files with quoted here-documents."""
    lines = ["set -euo pipefail", "set -x"]
    for number, step in enumerate(steps):
        if step.path is None:
            lines.append(step.text.rstrip("\n"))
            continue
        marker = f"TUTORIAL_FILE_{number}"
        assert marker not in step.text
        redirect = ">>" if step.append else ">"
        if step.append:
            lines.append(f"printf '\\n' >> {shlex.quote(step.path)}")
        lines += [f"cat {redirect} {shlex.quote(step.path)} <<'{marker}'", step.text.rstrip("\n"), marker]
    return "\n".join(lines) + "\n"


def fresh_environment(root: Path) -> Path:
    """A new virtual environment whose ``site-packages`` also reads this one's, with a
    ``promoter`` script; its ``bin`` directory."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    # addsitedir, not a plain path line: the editable installs in it are .pth files themselves.
    (Path(purelib) / "promoter-development.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n"
    )
    script = venv / "bin" / "promoter"
    script.write_text(
        f"#!{python}\nimport sys\n\nfrom promoter.cli import main\n\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    return venv / "bin"


def test_the_tutorial_extracts_its_steps() -> None:
    """The convention finds what the tutorial needs: its files and its commands."""
    steps = tutorial_steps(TUTORIAL.read_text())
    files = {s.path for s in steps if s.path is not None}
    assert files == {
        "pyproject.toml",
        "README.md",
        "promoter_changelog/__init__.py",
        "pipelines/release.yaml",
        "tests/test_changelog_plugin.py",
    }
    commands = "\n".join(s.text for s in steps if s.path is None)
    for command in ("pip install -e .", "promoter plugins", "python -m pytest tests"):
        assert command in commands
    assert [s.append for s in steps if s.path == "promoter_changelog/__init__.py"] == [
        False,
        True,
        True,
    ]


def test_the_plugin_tutorial_works_verbatim_from_an_empty_folder(tmp_path: Path) -> None:
    bin_dir = fresh_environment(tmp_path)
    folder = tmp_path / "work"
    folder.mkdir()
    script = tmp_path / "tutorial.sh"
    script.write_text(shell_script(tutorial_steps(TUTORIAL.read_text())))
    with fast_sandbox() as sandbox:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PROMOTER_", "TALEND_", "PYTHON", "VIRTUAL_ENV"))
        }
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            VIRTUAL_ENV=str(bin_dir.parent),
            TALEND_API_URL=sandbox.base_url,
            TALEND_ACCESS_TOKEN=sandbox.token,
            PROMOTER_USER="tester",
            NO_COLOR="1",
        )
        done = subprocess.run(
            ["bash", str(script)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    plugin = folder / "promoter-changelog"
    for name in ("pyproject.toml", "README.md", "promoter_changelog/__init__.py"):
        assert (plugin / name).is_file(), name
    # pip installed it into the fresh environment, and promoter found its entry point there
    assert "changelog  (entrypoint: promoter-changelog 0.1.0)" in output
    changelog = (plugin / "pipelines" / "CHANGELOG-promotions.md").read_text()
    assert "reason: CHG-7" in changelog and "from DATA_PLATFORM@main commit" in changelog
    assert changelog.count("\n## ") == 1  # the run without the plugin added nothing
    assert re.search(r"\b2 passed\b", output), output[-3000:]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ('```python title="a.py"\nx = 1\n```\n', [Step("a.py", "x = 1\n")]),
        ("```console\nls\n```\n```text\nnot run\n```\n", [Step(None, "ls\n")]),
        (
            '```py title="a.py"\nx\n```\ntext\n```py title="a.py"\ny\n```\n',
            [Step("a.py", "x\n"), Step("a.py", "y\n", append=True)],
        ),
    ],
)
def test_the_convention(markdown: str, expected: list[Step]) -> None:
    assert tutorial_steps(markdown) == expected
