"""Terminal escapes in data are shown, never obeyed (issue 13, item 6).

A parameter value that carries ``ESC]0;...BEL`` (retitles the terminal), ``ESC[8m`` (hides what
follows) and U+202E (reverses what follows) reaches promoter from two sides: the pipeline file's
``parameters.values`` and a dev task edited through the Talend API. A log line from Talend carries
the same. Every command that prints them — ``plan`` (plain and rich, through pipes and in a real
pseudo-terminal), ``logs``, ``runs``, ``diff`` — must print the escaped form (``\\x1b]0;pwned``),
never the raw characters. Real CLI runs against a sandbox; nothing is mocked.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability.estate import REPO, Workbench, fast_settings

from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.models import (
    ConnectionParameter,
    ConnectionUpdateRequest,
    ExecutionStartRequest,
    TaskUpdateRequest,
)
from promoter.terminal import printable, printable_json, printable_markup

HOSTILE = "ok\x1b]0;pwned\x07-\x1b[8mhidden\u202ereversed"
"""Retitles the terminal, hides the text after it, reverses what follows."""
SHOWN = "ok\\x1b]0;pwned\\x07-\\x1b[8mhidden\\u202ereversed"
"""How promoter prints HOSTILE."""
RAW = ("\x1b]", "\x1b[8m", "\x07", "\u202e")
SCRIPT = "<script>alert(1)</script>"
RELEASE = "pipelines/release.yaml"
DAILY_LOAD = "Finance daily load"


def assert_no_raw_escapes(text: str, where: str) -> None:
    """None of HOSTILE's control characters, as they are, in ``text``."""
    found = [repr(raw) for raw in RAW if raw in text]
    assert not found, f"{where}: raw {', '.join(found)} in {text[-1500:]!r}"


# --- printable itself -----------------------------------------------------------------------------


def test_printable_shows_every_control_and_override_character() -> None:
    assert printable(HOSTILE) == SHOWN
    # A one-character CSI (C1), DEL, NUL, CR.
    assert printable("a\x9b31mb\x7fc\x00d\re") == "a\\x9b31mb\\x7fc\\x00d\\re"
    assert printable("a\u2066b\u200bc\ufeffd\U000e0041") == "a\\u2066b\\u200bc\\ufeffd\\U000e0041"
    assert printable("lone \ud800 surrogate") == "lone \\ud800 surrogate"  # would not encode
    assert printable("two\nlines\tand tab") == "two\nlines\tand tab"
    assert printable("two\nlines\tand tab", one_line=True) == "two\\nlines\\tand tab"
    assert printable("Zürich 東京 👩‍💻") == "Zürich 東京 👩‍💻"  # letters and emoji stay
    assert printable(42) == "42"


def test_printable_markup_is_text_for_rich_and_printable_json_is_the_same_json() -> None:
    assert printable_markup("[bold]x\x1b[8m") == "\\[bold]x\\x1b[8m"
    document = json.dumps({"value": HOSTILE + "\x9b\U000e0041"}, ensure_ascii=False)
    shown = printable_json(document)
    assert json.loads(shown) == json.loads(document)
    assert_no_raw_escapes(shown, "printable_json")
    assert "\x9b" not in shown and "\U000e0041" not in shown


# --- real commands against a sandbox ------------------------------------------------------------


@dataclass
class HostileEstate:
    """A sandbox whose dev task and connection hold HOSTILE, a pipeline file that sets it too, and
    a finished execution whose log has a HOSTILE line."""

    bench: Workbench
    execution_id: str


def working_copy(root: Path) -> None:
    """The shipped pipeline, with HOSTILE in ``parameters.values`` (YAML's own escapes), no
    report files."""
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "templates", root / "templates")
    release = root / RELEASE
    text = release.read_text()
    values = '    LOG_LEVEL: "{{ values.log_level }}"\n'
    assert values in text
    banner = '    BANNER: "ok\\e]0;pwned\\a-\\e[8mhidden\\u202Ereversed"\n'
    script = f'    SCRIPT: "{SCRIPT}"\n'
    text = text.replace(values, values + banner + script)
    text = text.replace("formats: [json, junit, markdown, html]", "formats: []")
    release.write_text(text)


def dev_task(client: TalendClient, name: str) -> str:
    dev = client.environments.get_by_name("dev")
    assert dev is not None
    [task] = [t for t in client.tasks.list(environment_id=dev.id, name=name) if t.name == name]
    return task.executable


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileEstate]:
    root = tmp_path_factory.mktemp("hostile")
    working_copy(root)
    with Sandbox.start(seed="demo", settings=fast_settings()) as sandbox:
        with TalendClient(sandbox.base_url, token=sandbox.token) as client:
            # Talend's side: a parameter of the dev task, and the host of its database connection
            # (the execution's log says "Connecting to ... at <host>").
            task = client.tasks.get(dev_task(client, DAILY_LOAD))
            body = TaskUpdateRequest.from_task(task)
            body.parameters = {**(task.parameters or {}), "GREETING": HOSTILE}
            client.tasks.replace(task.id, body)
            assert task.connections
            for connection_id in task.connections.values():
                connection = client.connections.get(connection_id)
                parameters = [p for p in connection.parameters if p.name != "host"]
                parameters.append(ConnectionParameter(name="host", value=HOSTILE))
                client.connections.update(
                    connection.id, ConnectionUpdateRequest(parameters=parameters)
                )
            started = client.executions.start(ExecutionStartRequest(executable=task.id))
            client.executions.wait(started.execution_id, timeout=30, poll_interval=0.05)
        bench = Workbench(
            sandbox,
            root,
            env_extra={
                "FINANCE_DB_PASSWORD": "terminal-test",
                "PROMOTER_DISABLE_PLUGINS": "sample",
            },
        )
        yield HostileEstate(bench, started.execution_id)


def cli_env(estate: HostileEstate, **extra: str) -> dict[str, str]:
    env = estate.bench.env(**extra)
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


@pytest.mark.parametrize("console", ["plain", "rich"])
def test_plan_shows_hostile_values_escaped(estate: HostileEstate, console: str) -> None:
    env = cli_env(estate, PROMOTER_CONSOLE=console, COLUMNS="250")  # table rows stay one line
    done = estate.bench.cli("plan", RELEASE, "--target", "test", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_no_raw_escapes(done.stdout, "stdout")
    assert_no_raw_escapes(done.stderr, "stderr")
    # Both values are in the plan table, shown: the one from the file and the one from Talend.
    assert f"parameters.BANNER: {SHOWN}" in done.stderr
    assert f"parameters.GREETING: {SHOWN}" in done.stderr


def run_in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes]:
    """Run ``args`` with a pseudo-terminal as stdin, stdout and stderr; exit code and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 250, 0, 0))
    process = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.wait(timeout=120), b"".join(chunks)


@pytest.mark.parametrize("console", ["auto", "rich", "plain"])
def test_plan_in_a_real_terminal_obeys_no_escape_from_data(
    estate: HostileEstate, console: str
) -> None:
    env = cli_env(estate, TERM="xterm-256color", COLUMNS="250")
    if console != "auto":
        env["PROMOTER_CONSOLE"] = console
    args = estate.bench.command("plan", RELEASE, "--target", "test")
    code, output = run_in_terminal(args, env, estate.bench.directory)
    text = output.decode("utf-8", "replace")
    assert code == 0, text[-3000:]
    # rich writes its own escape codes (colours) in a terminal; none of the data's may pass.
    for raw in (b"\x1b]0;pwned", b"\x1b[8m", b"\x07", "\u202e".encode()):
        assert raw not in output, (raw, text[-2000:])
    assert "pwned" in text and "\\x1b]0;pwned\\x07" in text


def test_logs_and_runs_show_talend_data_escaped(estate: HostileEstate) -> None:
    env = cli_env(estate)
    logs = estate.bench.cli("logs", estate.execution_id, env=env)
    assert logs.returncode == 0, logs.stderr
    assert_no_raw_escapes(logs.stdout + logs.stderr, "promoter logs")
    assert f"at {SHOWN}" in logs.stdout  # "Connecting to <app> at <host>"
    # The same line in JSON is the JSON encoder's business: exact, and escaped as JSON.
    as_json = estate.bench.cli("logs", estate.execution_id, "--output", "json", env=env)
    assert_no_raw_escapes(as_json.stdout, "promoter logs --output json")
    messages = [json.loads(line)["logMessage"] for line in as_json.stdout.splitlines()]
    assert any(m.endswith(f"at {HOSTILE}") for m in messages)

    # A task renamed on Talend's side: `promoter runs` shows the name escaped.
    with TalendClient(estate.bench.sandbox.base_url, token=estate.bench.sandbox.token) as client:
        task = client.tasks.get(dev_task(client, "Finance ledger sync"))
        body = TaskUpdateRequest.from_task(task)
        body.name = f"sync {HOSTILE}"
        client.tasks.replace(task.id, body)
        started = client.executions.start(ExecutionStartRequest(executable=task.id))
        client.executions.wait(started.execution_id, timeout=30, poll_interval=0.05)
    runs = estate.bench.cli("runs", "--environment", "dev", "--since", "1h", env=env)
    assert runs.returncode == 0, runs.stderr
    assert_no_raw_escapes(runs.stdout + runs.stderr, "promoter runs")
    assert f"sync {SHOWN}" in runs.stdout


def test_diff_shows_talend_values_escaped(estate: HostileEstate) -> None:
    done = estate.bench.cli(
        "diff", "--from", "dev", "--to", "test", "--workspace", "Finance", env=cli_env(estate)
    )
    assert done.returncode == 0, done.stderr
    assert_no_raw_escapes(done.stdout + done.stderr, "promoter diff")
    assert SHOWN in done.stdout
    as_json = estate.bench.cli(
        "diff", "--from", "dev", "--to", "test", "--output", "json", env=cli_env(estate)
    )
    assert_no_raw_escapes(as_json.stdout, "promoter diff --output json")
    # The JSON still holds the exact value (escapes in JSON are JSON's, not the terminal's).
    report = json.loads(as_json.stdout)
    values = [
        field["from"]
        for workspace in report["workspaces"]
        for found in workspace["objects"]
        for field in found.get("fields") or []
    ]
    assert HOSTILE in values


def test_report_html_and_run_json_show_hostile_values_as_text(
    estate: HostileEstate, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    done = estate.bench.cli(
        "plan", RELEASE, "--target", "test", "--report-dir", str(reports), env=cli_env(estate)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    page = (reports / "report.html").read_text(encoding="utf-8")
    assert_no_raw_escapes(page, "report.html")
    assert SHOWN in page  # visible as text, in the plan table
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page  # self-contained, no script at all
    # run.json holds the exact values, its invisible characters written as JSON escapes.
    text = (reports / "run.json").read_text(encoding="utf-8")
    assert_no_raw_escapes(text, "run.json")
    document = json.loads(text)
    after = {
        f["path"]: f["after"]
        for change in document["plan"]["changes"]
        for f in change["fields"]
        if change["key"] == DAILY_LOAD
    }
    assert after["parameters.BANNER"] == HOSTILE and after["parameters.GREETING"] == HOSTILE
    assert after["parameters.SCRIPT"] == SCRIPT
