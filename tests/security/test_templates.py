"""Templates and YAML from people who must not run code on the runner (issue 13, defects 1-3).

- **Talend data is data**: a dev task parameter holding a Jinja2 payload, with
  ``parameters.policy: template``, is never evaluated by ``promoter plan`` — it ends in a clear
  mapping problem (exit 2), no command runs, nothing is written; plain placeholders
  (``jdbc:{{ values.db_host }}``) still become the target's values.
- **Pipeline files and connection templates** render in promoter's sandbox: every known escape
  (``__class__``, ``__mro__``, ``__globals__``, ``str.format`` fields, ``|attr``) is refused for
  security with exit 2 and ``file:line``, and the canary file the payload would create is absent.
- **Hostile files** — an alias bomb, a 50,000-deep list, a 3,000-deep mapping, ``'A' * 10**9``,
  nested loops, a recursive macro... — end with exit 2 and a message naming the limit, from a
  real ``python -m promoter.cli validate`` process capped at 500 MB of address space and killed
  after 10 s (a hang guard; speed itself is not asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability.estate import REPO, Workbench, fast_settings, writes

from promoter.cli import main
from promoter.pipeline import load_pipeline
from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.models import TaskUpdateRequest
from promoter.talend.plugin.workspace import TalendWorkspace

RELEASE = "pipelines/release.yaml"
MEMORY_CAP = 500 * 1024 * 1024
HANG_GUARD = 10.0

MINIMAL = """\
name: hostile
source: {environment: dev, workspace: Finance}
targets:
  - environment: test
artifacts:
  - name: finance_daily_load
reports: {formats: []}
"""


def working_copy(root: Path) -> None:
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "templates", root / "templates")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh demo estate for each test: they change the source's tasks."""
    with Sandbox.start(seed="demo", settings=fast_settings()) as running:
        yield running


def set_dev_parameters(sandbox: Sandbox, task: str, parameters: dict[str, str]) -> None:
    """Set parameters of a dev/Finance task through the Talend API, as anyone who may edit dev
    could."""
    with TalendClient(sandbox.base_url, token=sandbox.token) as client:
        summary = TalendWorkspace(client, "dev", "Finance").tasks[task]

        def change(body: TaskUpdateRequest) -> None:
            body.parameters = {**(body.parameters or {}), **parameters}

        client.tasks.modify(summary.executable, change)
    # The request log is written after each answer: wait for the change to land in it, so that
    # the tests' "no write since" starts after it.
    deadline = time.monotonic() + 10
    while not any(
        e["method"] == "PUT" and e["path"].endswith(summary.executable) for e in sandbox.requests()
    ):
        assert time.monotonic() < deadline, "the task change never reached the request log"
        time.sleep(0.02)


def mark(sandbox: Sandbox) -> int:
    """Where the sandbox's request log stands (pass it to ``requests(since=...)``)."""
    entries = sandbox.requests()
    return entries[-1]["seq"] if entries else 0


# --- values read from Talend are never evaluated --------------------------------------------------


def talend_payloads(canary: Path) -> dict[str, str]:
    return {
        "cycler-globals": f"{{{{ cycler.__init__.__globals__.os.popen('touch {canary}').read() }}}}",
        "lipsum-globals": f"{{{{ lipsum.__globals__['os'].popen('touch {canary}').read() }}}}",
        "loop-over-subclasses": (
            "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}"
        ),
        "a-harmless-filter": "{{ values.db_host | upper }}",  # an expression all the same
        "unclosed": "jdbc:{{ values.db_host",
    }


@pytest.mark.parametrize("case", list(talend_payloads(Path("x"))))
def test_a_payload_in_talend_data_is_never_evaluated(
    sandbox: Sandbox, tmp_path: Path, case: str
) -> None:
    canary = tmp_path / "CANARY"
    payload = talend_payloads(canary)[case]
    set_dev_parameters(sandbox, "Finance daily load", {"BATCH_SIZE": payload})
    working_copy(tmp_path)
    edit(tmp_path / RELEASE, "policy: keep-target", "policy: template")
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})
    before = mark(sandbox)

    done = bench.cli("plan", RELEASE, "--target", "test", timeout=120)

    output = done.stdout + done.stderr
    assert not canary.exists(), "the payload ran on the host"
    assert done.returncode == 2, output[-3000:]
    assert "BATCH_SIZE" in output and "Finance daily load" in output, output[-3000:]
    assert "not a plain placeholder" in output and "never evaluated" in output, output[-3000:]
    assert "{{ values.NAME }}" in output  # what to write instead
    assert "Traceback" not in output
    assert writes(sandbox.requests(since=before)) == []


def test_plain_placeholders_in_talend_data_become_the_targets_values(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    set_dev_parameters(
        sandbox,
        "Finance daily load",
        {
            "DB_URL": "jdbc:postgresql://{{ values.db_host }}:5432/{{target.environment}}",
            "LEVEL": "{{ log_level }}",
            "WORKSPACE": "{{ target.workspace }}",
            "JSON": '{"a": {"b": 1}} {# not a comment #}',
        },
    )
    working_copy(tmp_path)
    edit(tmp_path / RELEASE, "policy: keep-target", "policy: template")
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})

    done = bench.cli("plan", RELEASE, "--target", "test", "--out", "plan.json", timeout=120)

    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    saved = json.loads((tmp_path / "plan.json").read_text())
    (task,) = [
        c for c in saved["plan"]["changes"] if c["kind"] == "task" and c["key"] == "Finance daily load"
    ]
    parameters = task["after"]["parameters"]
    assert parameters["DB_URL"] == "jdbc:postgresql://finance-db.test.internal:5432/test"
    assert parameters["LEVEL"] == "INFO"
    assert parameters["WORKSPACE"] == "Finance"
    assert parameters["JSON"] == '{"a": {"b": 1}} {# not a comment #}'


def test_a_placeholder_naming_no_value_is_a_problem_naming_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    set_dev_parameters(sandbox, "Finance daily load", {"DB_URL": "jdbc:{{ values.replica_host }}"})
    working_copy(tmp_path)
    edit(tmp_path / RELEASE, "policy: keep-target", "policy: template")
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})

    done = bench.cli("plan", RELEASE, "--target", "test", timeout=120)

    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert "replica_host" in output and "does not define" in output, output[-3000:]
    assert "define replica_host under the target's values" in output, output[-3000:]


# --- pipeline files and connection templates: the sandbox ------------------------------------------


def file_payloads(canary: Path) -> dict[str, str]:
    touch = f"popen('touch {canary}').read()"
    return {
        "cycler-globals": f"{{{{ cycler.__init__.__globals__.os.{touch} }}}}",
        "lipsum-globals": f"{{{{ lipsum.__globals__['os'].{touch} }}}}",
        "joiner-globals": f"{{{{ joiner.__init__.__globals__.os.{touch} }}}}",
        "class-mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "format-field": "{{ '{0.__class__.__mro__}'.format(1) }}",
        "attr-filter": "{{ ''|attr('__class__') }}",
        "hidden-by-default": "{{ ''.__class__ | default('x') }}",
        "own-objects": "{{ values.__class__ }}{{ env._environ }}",
        "own-credential": "{{ env.TALEND_ACCESS_TOKEN }}",
    }


PAYLOAD_IDS = list(file_payloads(Path("x")))


@pytest.mark.parametrize("case", PAYLOAD_IDS)
def test_a_sandbox_escape_in_a_pipeline_file_is_refused(
    case: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    canary = tmp_path / "CANARY"
    payload = file_payloads(canary)[case]
    pipeline = tmp_path / "hostile.yaml"
    pipeline.write_text(MINIMAL + f"description: {payload}x\n")  # line 8
    monkeypatch.setenv("TALEND_ACCESS_TOKEN", "canary-token-4f1c")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(SystemExit) as exited:
        main(["validate", str(pipeline)])

    out, err = capsys.readouterr()
    assert not canary.exists(), "the payload ran on the host"
    assert exited.value.code == 2, out + err
    assert f"{pipeline}:8: description: refused for security" in out + err, out + err
    assert "canary-token-4f1c" not in out + err
    assert "Traceback" not in out + err


def test_the_canary_payload_in_a_real_validate_process(tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    pipeline = tmp_path / "hostile.yaml"
    pipeline.write_text(MINIMAL + f"description: {file_payloads(canary)['cycler-globals']}\n")

    done = run_capped(["validate", str(pipeline)], tmp_path)

    assert not canary.exists(), "the payload ran on the host"
    assert done.returncode == 2, done.output
    assert "hostile.yaml:8: description: refused for security" in done.output


def test_a_payload_in_parameters_values_is_refused_per_target(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """``parameters.values`` are rendered a second time, per target, by the map stage: in the
    sandbox too (``{% raw %}`` passes the payload through the file-level render)."""
    canary = tmp_path / "CANARY"
    working_copy(tmp_path)
    payload = file_payloads(canary)["cycler-globals"]
    edit(
        tmp_path / RELEASE,
        '    LOG_LEVEL: "{{ values.log_level }}"',
        f'    LOG_LEVEL: "{{% raw %}}{payload}{{% endraw %}}"',
    )
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})
    before = mark(sandbox)

    done = bench.cli("plan", RELEASE, "--target", "test", timeout=120)

    output = done.stdout + done.stderr
    assert not canary.exists(), "the payload ran on the host"
    assert done.returncode == 2, output[-3000:]
    assert "LOG_LEVEL" in output and "refused for security" in output, output[-3000:]
    assert writes(sandbox.requests(since=before)) == []


def test_a_payload_in_a_connection_template_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    working_copy(tmp_path)
    # Map the warehouse to a connection test lacks, so that the template is rendered.
    edit(tmp_path / RELEASE, "connections:\n  map: {}", "connections:\n  map: {finance_warehouse: finance_dwh}")
    template = tmp_path / "templates/connections/database.yaml.j2"
    payload = file_payloads(canary)["cycler-globals"]
    edit(template, "host: {{ values.db_host }}", f"host: {payload}")
    line = next(n for n, text in enumerate(template.read_text().splitlines(), 1) if "host:" in text)
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})
    before = mark(sandbox)

    done = bench.cli("promote", RELEASE, "--target", "test", "--yes", timeout=120)

    output = done.stdout + done.stderr
    assert not canary.exists(), "the payload ran on the host"
    assert done.returncode == 2, output[-3000:]
    assert f"database.yaml.j2:{line}: refused for security" in output, output[-3000:]
    assert writes(sandbox.requests(since=before)) == []


def test_a_template_including_a_file_outside_its_directory_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    working_copy(tmp_path)
    edit(tmp_path / RELEASE, "connections:\n  map: {}", "connections:\n  map: {finance_warehouse: finance_dwh}")
    outside = tmp_path / "outside.txt"
    outside.write_text("CANARY-outside-7d2e\n")
    (tmp_path / "templates/connections/linked.txt").symlink_to(outside)
    edit(
        tmp_path / "templates/connections/database.yaml.j2",
        "host: {{ values.db_host }}",
        "host: \"{% include 'linked.txt' %}\"",
    )
    bench = Workbench(sandbox, tmp_path, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})
    before = mark(sandbox)

    done = bench.cli("plan", RELEASE, "--target", "test", timeout=120)

    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert "outside the template directory" in output, output[-3000:]
    assert "CANARY-outside-7d2e" not in output
    assert writes(sandbox.requests(since=before)) == []


# --- hostile files: bounded time and memory --------------------------------------------------------


@dataclass
class Finished:
    returncode: int
    output: str
    seconds: float
    peak_rss_mb: float


# A small launcher between the test and promoter: ``ru_maxrss`` of a process counts what it
# had before ``exec`` (the forking pytest's pages), so promoter is forked from this small one.
LAUNCHER = """
import json, os, resource, signal, sys, time
cap, guard, report = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
started = time.monotonic()
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    os.execv(sys.executable, [sys.executable, "-m", "promoter.cli", *sys.argv[4:]])
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, guard)
_, status, usage = os.wait4(pid, 0)
seconds = time.monotonic() - started
with open(report, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
               "rss_kb": usage.ru_maxrss}, out)
"""


def run_capped(args: list[str], cwd: Path) -> Finished:
    """``python -m promoter.cli ARGS`` under a 500 MB address-space cap (``RLIMIT_AS``), killed
    after 10 s; its exit code (-9 when killed), output, wall time and peak resident memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALEND_", "PROMOTER_"))}
    env["PYTHONPATH"] = str(REPO)
    env["PROMOTER_LEDGER"] = str(cwd / "ledger.db")
    report = cwd / "run-capped.json"
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(MEMORY_CAP), str(HANG_GUARD), str(report), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD + 30,
    )
    measured = json.loads(report.read_text())
    return Finished(
        measured["code"],
        launched.stdout + launched.stderr,
        measured["seconds"],
        measured["rss_kb"] / 1024,
    )


def alias_bomb() -> str:
    """Billion laughs: ten levels of nine aliases, 9**10 (3.5 billion) strings expanded."""
    lines = [MINIMAL.rstrip("\n"), 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def deep_aliases() -> str:
    """Each anchor 60 levels deep, each one nesting the previous: shallow as written, 600 deep
    once expanded."""
    lines = [MINIMAL.rstrip("\n"), "d0: &d0 " + "[" * 60 + "1" + "]" * 60]
    lines += [f"d{i}: &d{i} " + "[" * 60 + f"*d{i - 1}" + "]" * 60 for i in range(1, 10)]
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (the file, what the message must say)
    "alias-bomb": (alias_bomb(), ("hostile.yaml:12: l4:", "20,000 values", "aliases")),
    "deep-aliases": (deep_aliases(), ("hostile.yaml:", "nested more than 64 levels")),
    "alias-to-itself": (MINIMAL + "x: &x [*x]\n", ("hostile.yaml:8:", "contains it")),
    "deep-list-50000": (
        MINIMAL + "x: " + "[" * 50_000 + "]" * 50_000 + "\n",
        ("hostile.yaml:8:", "nested more than 64 levels"),
    ),
    "deep-mapping-3000": (
        MINIMAL + "x: " + "{a: " * 3_000 + "1" + "}" * 3_000 + "\n",
        ("hostile.yaml:8:", "nested more than 64 levels"),
    ),
    "deep-block-mapping-3000": (
        MINIMAL + "".join(" " * i + f"k{i}:\n" for i in range(3_000)),
        ("hostile.yaml", "larger than 4 MiB"),
    ),
    "file-of-5-MiB": (MINIMAL + "# " + "x" * (5 * 1024 * 1024) + "\n", ("larger than 4 MiB",)),
    "A-times-10**9": (
        MINIMAL + "description: \"{{ 'A' * 10**9 }}\"\n",
        ("hostile.yaml:8: description:", "value size limit"),
    ),
    "list-times-10**9": (
        MINIMAL + "description: \"{{ [0] * 10**9 }}\"\n",
        ("hostile.yaml:8: description:", "value size limit"),
    ),
    "2**10**8": (
        MINIMAL + 'description: "{{ 2 ** (10**8) }}"\n',
        ("hostile.yaml:8: description:", "integer limit"),
    ),
    "percent-width": (
        MINIMAL + "description: \"{{ '%999999999d' % 1 }}\"\n",
        ("hostile.yaml:8: description:", "value size limit"),
    ),
    "format-width": (
        MINIMAL + "description: \"{{ '{:>999999999}'.format(1) }}\"\n",
        ("hostile.yaml:8: description:", "value size limit"),
    ),
    "center-method": (
        MINIMAL + "description: \"{{ 'x'.center(10**9) }}\"\n",
        ("hostile.yaml:8: description:", "value size limit"),
    ),
    "filters": (
        MINIMAL
        + "description: \"{{ 'x'|center(10**8) }}{{ 'a'|indent(10**9, true) }}"
        + "{{ ('a b ' * 1000)|wordwrap(1, wrapstring='x' * 10**4) }}"
        + "{{ ('x' * 10**4)|replace('', 'y' * 10**4) }}\"\n",
        ("hostile.yaml:8: description:", "value size limit"),
    ),
    "nested-loops-printing-nothing": (
        MINIMAL
        + "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
        ("hostile.yaml:8:", "loop limit"),
    ),
    "output-in-a-set-block": (
        MINIMAL
        + "{% set big = 'x' * 4000000 %}{% set s %}{% for i in range(100) %}{{ big }}"
        + "{% endfor %}{% endset %}\n",
        ("hostile.yaml:8:", "output limit"),
    ),
    "recursive-macro": (
        MINIMAL + "{% macro m() %}{{ m() }}{% endmacro %}\ndescription: \"{{ m() }}\"\n",
        ("hostile.yaml:8:", "recursion limit"),
    ),
    "unclosed-expressions": (
        MINIMAL + "description: " + "{{ " * 1_000_000 + "\n",
        ("hostile.yaml:8:",),
    ),
}


def test_a_normal_validate_runs_under_the_memory_cap(tmp_path: Path) -> None:
    """The cap is not what makes the hostile cases fail: the shipped pipeline validates under it."""
    working_copy(tmp_path)
    (tmp_path / RELEASE).write_text(
        (tmp_path / RELEASE).read_text().replace("${env:FINANCE_DB_PASSWORD}", "${file:pw.txt}")
    )
    (tmp_path / "pipelines" / "pw.txt").write_text("pw\n")

    done = run_capped(["validate", RELEASE], tmp_path)

    assert done.returncode == 0, done.output
    assert "valid release pipeline" in done.output


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_exits_2_in_bounded_time_and_memory(case: str, tmp_path: Path) -> None:
    text, names = HOSTILE[case]
    (tmp_path / "hostile.yaml").write_text(text)

    done = run_capped(["validate", "hostile.yaml"], tmp_path)

    assert done.returncode != -9, f"killed after {HANG_GUARD} s (a hang)"
    assert done.returncode == 2, done.output[-3000:]
    for name in names:
        assert name in done.output, (name, done.output[-3000:])
    assert "Traceback" not in done.output and "MemoryError" not in done.output, done.output[-3000:]


def test_merge_keys_of_normal_files_still_work(tmp_path: Path) -> None:
    pipeline = tmp_path / "merged.yaml"
    pipeline.write_text(
        """\
name: merged
source: {environment: dev, workspace: Finance}
values: &shared
  db_host: shared
  log_level: INFO
targets:
  - environment: test
    values:
      <<: *shared
      log_level: DEBUG
  - environment: prod
    values: {<<: *shared}
artifacts:
  - name: finance_daily_load
reports: {formats: []}
"""
    )

    loaded = load_pipeline(pipeline, environ={})

    test, prod = loaded.pipeline.targets
    assert test.values == {"db_host": "shared", "log_level": "DEBUG"}
    assert prod.values == {"db_host": "shared", "log_level": "INFO"}
