"""What a secret reference may read (issue 13, defect 4), and where a pipeline file may put its
reports (defect 5, the file's part).

``${file:PATH}`` reads a regular file of at most 64 KiB, whose real path lies under the pipeline
file's directory or a ``PROMOTER_SECRETS_DIR`` directory, never under ``/proc``, ``/sys`` or
``/dev``; ``${env:NAME}`` may not name promoter's own ``TALEND_*``/``PROMOTER_*`` variables except
in the ``talend:`` section. Each refusal is found when the file is loaded — exit 2 naming
``file:line: key`` before any write (the sandbox's request log) and before a run is recorded — and
again by ``Secrets.resolve``, whoever asks (a connection template, a plugin). The allowed forms
still reach the target.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from reliability.estate import REPO, Workbench, dump_workspace, fast_settings, writes

from promoter.cli import main
from promoter.errors import ConfigurationError
from promoter.ledger import SQLiteLedger
from promoter.pipeline import SecretRef, Secrets
from promoter.sandbox import Sandbox
from promoter.talend.plugin.workspace import fingerprint

RELEASE = "pipelines/release.yaml"
DB_PASSWORD = '    DB_PASSWORD: "${env:FINANCE_DB_PASSWORD}"'
MAX_SECRET_FILE_BYTES = 64 * 1024  # documented in docs/security.md


def line_of(marker: str) -> int:
    """The line of the shipped pipeline that holds ``marker``."""
    for number, text in enumerate((REPO / RELEASE).read_text().splitlines(), start=1):
        if marker in text:
            return number
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(seed="demo", settings=fast_settings()) as running:
        yield running


def mark(sandbox: Sandbox) -> int:
    entries = sandbox.requests()
    return entries[-1]["seq"] if entries else 0


def working_copy(root: Path) -> Path:
    """``pipelines/`` and ``templates/`` under ``root/work``, and a file outside it."""
    work = root / "work"
    shutil.copytree(REPO / "pipelines", work / "pipelines")
    shutil.copytree(REPO / "templates", work / "templates")
    (root / "outside.txt").write_text("CANARY-outside-secret-61b0\n")
    return work


def use_secret(work: Path, reference: str) -> None:
    release = work / RELEASE
    text = release.read_text()
    assert DB_PASSWORD in text
    release.write_text(text.replace(DB_PASSWORD, f'    DB_PASSWORD: "{reference}"'))


def environment(sandbox: Sandbox, work: Path, extra: dict[str, str | None]) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "TALEND_API_URL": sandbox.base_url,
        "TALEND_ACCESS_TOKEN": sandbox.token,
        "TALEND_REGION": None,
        "TALEND_CLIENT_ID": None,
        "TALEND_CLIENT_SECRET": None,
        "PROMOTER_LEDGER": str(work / "ledger.db"),
        "PROMOTER_DISABLE_PLUGINS": None,
        "PROMOTER_SECRETS_DIR": None,
        "FINANCE_DB_PASSWORD": "not-a-real-password",
    }
    env.update(extra)
    return env


@dataclass(frozen=True)
class Refused:
    """A reference that must be refused, how to set the world up, and what the error says."""

    id: str
    reference: str
    says: tuple[str, ...]
    setup: Callable[[Path, Path], None] | None = None
    env: dict[str, str | None] = field(default_factory=dict)


def symlink_outside(root: Path, work: Path) -> None:
    (work / "pipelines" / "db_password.txt").symlink_to(root / "outside.txt")


def too_large(root: Path, work: Path) -> None:
    (work / "pipelines" / "big.txt").write_text("x" * (MAX_SECRET_FILE_BYTES + 1))


def fifo(root: Path, work: Path) -> None:
    os.mkfifo(work / "pipelines" / "pipe")


def binary(root: Path, work: Path) -> None:
    (work / "pipelines" / "key.bin").write_bytes(b"\xff\xfe\x00secret")


def talend_token_too(root: Path, work: Path) -> None:
    """The talend: section may use the token; parameters.secrets still may not."""
    release = work / RELEASE
    release.write_text(
        release.read_text() + "\ntalend:\n  token: ${env:TALEND_ACCESS_TOKEN}\n"
    )


REFUSED = [
    Refused("etc-shadow", "${file:/etc/shadow}", ("/etc/shadow", "outside the pipeline file's directory")),
    Refused("proc-environ", "${file:/proc/self/environ}", ("system file",)),
    Refused("dot-dot", "${file:../../outside.txt}", ("outside.txt", "outside the pipeline file's directory")),
    Refused("dev-zero", "${file:/dev/zero}", ("/dev/zero", "a character device, not a regular file")),
    Refused("symlink-outside", "${file:db_password.txt}", ("outside.txt", "outside"), symlink_outside),
    Refused("too-large", "${file:big.txt}", ("larger than 64 KiB",), too_large),
    Refused("fifo", "${file:pipe}", ("a FIFO, not a regular file",), fifo),
    Refused("directory", "${file:.}", ("a directory, not a regular file",)),
    Refused("not-utf8", "${file:key.bin}", ("not UTF-8",), binary),
    Refused(
        "proc-despite-secrets-dir",
        "${file:/proc/self/environ}",
        ("system file",),
        env={"PROMOTER_SECRETS_DIR": "/"},
    ),
    Refused("talend-token", "${env:TALEND_ACCESS_TOKEN}", ("promoter's own", "talend: section")),
    Refused(
        "talend-token-also-in-talend-section",
        "${env:TALEND_ACCESS_TOKEN}",
        ("promoter's own",),
        talend_token_too,
    ),
    Refused("promoter-setting", "${env:PROMOTER_LEDGER}", ("promoter's own",)),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
@pytest.mark.parametrize("command", ["validate", "plan", "promote"])
def test_a_refused_reference_exits_2_before_any_write(
    case: Refused,
    command: str,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = working_copy(tmp_path)
    use_secret(work, case.reference)
    if case.setup is not None:
        case.setup(tmp_path, work)
    for key, value in environment(sandbox, work, case.env).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(work)
    args = {"validate": [], "plan": ["--target", "test"], "promote": ["--target", "test", "--yes"]}
    before = mark(sandbox)

    with pytest.raises(SystemExit) as exited:
        main([command, RELEASE, *args[command]])

    out, err = capsys.readouterr()
    message = out + err
    assert exited.value.code == 2, message[-2000:]
    where = f"release.yaml:{line_of('DB_PASSWORD:')}: parameters.secrets.DB_PASSWORD: secret"
    assert where in message, message[-2000:]
    for fragment in case.says:
        assert fragment in message, (fragment, message[-2000:])
    assert "CANARY-outside-secret" not in message and sandbox.token not in message
    assert "Traceback" not in message
    assert writes(sandbox.requests(since=before)) == []
    assert recorded_runs(work / "ledger.db") == 0


def recorded_runs(path: Path) -> int:
    if not path.exists():
        return 0
    ledger = SQLiteLedger(path)
    try:
        return len(ledger.list_runs(limit=1000))
    finally:
        ledger.close()


# --- the allowed forms still work -----------------------------------------------------------------


@pytest.fixture
def fresh_sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(seed="demo", settings=fast_settings()) as running:
        yield running


def promoted_password(sandbox: Sandbox) -> str:
    """The target task's DB_PASSWORD, as promoter reads it back: a fingerprint of the value."""
    task = dump_workspace(sandbox, "test", "Finance")["tasks"]["Finance daily load"]
    value: str = task["parameters"]["DB_PASSWORD"]
    return value


def test_a_file_next_to_the_pipeline(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    work = working_copy(tmp_path)
    (work / "pipelines" / "secrets").mkdir()
    (work / "pipelines" / "secrets" / "db.txt").write_text("from-a-file-next-to-it\n")
    use_secret(work, "${file:secrets/db.txt}")
    bench = Workbench(fresh_sandbox, work)

    done = bench.cli("promote", RELEASE, "--target", "test", "--yes")

    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert promoted_password(fresh_sandbox) == fingerprint("from-a-file-next-to-it")


def test_a_file_under_promoter_secrets_dir(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    work = working_copy(tmp_path)
    first, second = tmp_path / "vault-a", tmp_path / "vault-b"
    first.mkdir()
    second.mkdir()
    (second / "db.txt").write_text("from-the-secrets-dir\n")
    # A link inside a secrets directory to a file inside another one is fine: real paths count.
    (first / "db-link.txt").symlink_to(second / "db.txt")
    use_secret(work, f"${{file:{first / 'db-link.txt'}}}")
    bench = Workbench(
        fresh_sandbox, work, env_extra={"PROMOTER_SECRETS_DIR": f"{first}{os.pathsep}{second}"}
    )

    done = bench.cli("promote", RELEASE, "--target", "test", "--yes")

    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert promoted_password(fresh_sandbox) == fingerprint("from-the-secrets-dir")


def test_an_environment_variable_and_the_talend_sections_token(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    work = working_copy(tmp_path)
    release = work / RELEASE
    release.write_text(release.read_text() + "\ntalend:\n  token: ${env:TALEND_ACCESS_TOKEN}\n")
    bench = Workbench(fresh_sandbox, work, env_extra={"FINANCE_DB_PASSWORD": "from-the-env"})

    done = bench.cli("promote", RELEASE, "--target", "test", "--yes")

    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert promoted_password(fresh_sandbox) == fingerprint("from-the-env")


# --- defence in depth: Secrets.resolve refuses whoever asks -----------------------------------------


def test_resolve_refuses_what_validation_refuses(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("fine\n")
    secrets = Secrets(tmp_path, environ={"TALEND_ACCESS_TOKEN": "tok-3c9e", "MY_SECRET": "mine"})
    for reference in ("${env:TALEND_ACCESS_TOKEN}", "${file:/etc/passwd}", "${file:/dev/zero}"):
        with pytest.raises(ConfigurationError) as refused:
            secrets.resolve(reference)
        assert "tok-3c9e" not in str(refused.value)
    assert secrets.resolve("${env:MY_SECRET}") == "mine"
    assert secrets.resolve("${file:ok.txt}") == "fine"
    credential = SecretRef.parse("${env:TALEND_ACCESS_TOKEN}")
    credential.promoter_credential = True  # what loading a talend: section does
    assert secrets.resolve(credential) == "tok-3c9e"
    assert credential == SecretRef.parse("${env:TALEND_ACCESS_TOKEN}")


def test_a_connection_template_cannot_read_promoters_token(sandbox: Sandbox, tmp_path: Path) -> None:
    """A reference in a connection template is not seen by validation; resolve refuses it at map,
    before anything is written."""
    work = working_copy(tmp_path)
    release = work / RELEASE
    release.write_text(
        release.read_text().replace(
            "connections:\n  map: {}", "connections:\n  map: {finance_warehouse: finance_dwh}"
        )
    )
    template = work / "templates/connections/database.yaml.j2"
    template.write_text(
        template.read_text().replace(
            "password: ${env:FINANCE_DB_PASSWORD}", "password: ${env:TALEND_ACCESS_TOKEN}"
        )
    )
    bench = Workbench(sandbox, work, env_extra={"FINANCE_DB_PASSWORD": "pw-for-tests"})
    before = mark(sandbox)

    done = bench.cli("promote", RELEASE, "--target", "test", "--yes")

    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert "${env:TALEND_ACCESS_TOKEN} is refused" in output, output[-3000:]
    assert sandbox.token not in output
    assert writes(sandbox.requests(since=before)) == []


# --- reports.dir from the file stays under the working directory --------------------------------


@pytest.mark.parametrize(
    ("directory", "says"),
    [
        ("../../../../tmp/x", "leaves the working directory"),
        ("reports/../../x", "leaves the working directory"),
        ("/tmp/x", "not a relative path"),
        ("~/x", "not a relative path"),
        ("C:\\\\reports", "not a relative path"),
        ("..\\\\..\\\\x", "leaves the working directory"),
    ],
)
def test_reports_dir_from_the_file_stays_inside_the_working_directory(
    directory: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = working_copy(tmp_path)
    release = work / RELEASE
    release.write_text(release.read_text().replace("  dir: reports", f'  dir: "{directory}"'))
    monkeypatch.setenv("FINANCE_DB_PASSWORD", "x")
    monkeypatch.chdir(work)

    with pytest.raises(SystemExit) as exited:
        main(["validate", RELEASE])

    message = "".join(capsys.readouterr())
    assert exited.value.code == 2, message
    assert f"release.yaml:{line_of('dir: reports')}: reports.dir:" in message, message
    assert says in message and "--report-dir" in message, message


def test_a_relative_reports_dir_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = working_copy(tmp_path)
    release = work / RELEASE
    release.write_text(release.read_text().replace("  dir: reports", "  dir: reports/nightly"))
    monkeypatch.setenv("FINANCE_DB_PASSWORD", "x")
    monkeypatch.chdir(work)

    with pytest.raises(SystemExit) as exited:
        main(["validate", RELEASE])

    assert exited.value.code == 0, capsys.readouterr()
