"""Secret references: ``${env:NAME}`` and ``${file:path}`` stand for secrets in pipeline files.

A :class:`SecretRef` is the reference, never the value: printing, logging or storing one never
discloses the secret. Stages resolve a reference only when they need the value, with
``run.secrets.resolve(ref)`` (a :class:`Secrets`), which also remembers the values it handed out
so that :meth:`Secrets.redact` can mask them in any message.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

SECRET_REF_PATTERN = re.compile(r"^\$\{(?P<scheme>[A-Za-z_][\w-]*):(?P<name>[^}]+)\}$")
SECRET_SCHEMES = ("env", "file")


OWN_SETTING_PREFIXES = ("TALEND_", "PROMOTER_")
"""Environment variables that hold promoter's own credentials and settings. A ``${env:...}``
reference may name one only in a section its plugin registered as holding promoter's
credentials (``credentials=True``: the ``talend:`` section), where promoter itself authenticates
with it; anywhere else the value would end up in a Talend task or connection."""

SECRETS_DIR_VARIABLE = "PROMOTER_SECRETS_DIR"
"""Directories (separated by ``os.pathsep``) that ``${file:...}`` may read besides the pipeline
file's own directory."""

MAX_SECRET_FILE_BYTES = 64 * 1024
"""The largest file a ``${file:...}`` reference may read (a key or a certificate chain fits)."""

SYSTEM_DIRECTORIES = ("/proc", "/sys", "/dev")
"""Never secrets, whatever directories are configured: process state, kernel state, devices."""


def is_own_setting(name: str) -> bool:
    """Whether the environment variable ``name`` is one of promoter's own (``TALEND_*``,
    ``PROMOTER_*``; case-insensitive, as on Windows)."""
    return name.upper().startswith(OWN_SETTING_PREFIXES)


class SecretRef:
    """A reference to a secret: ``${env:NAME}`` or ``${file:path}``; never the value itself.

    ``str(ref)`` is the reference text, so printing, logging or storing a ``SecretRef`` never
    discloses the secret. Resolve it with ``run.secrets.resolve(ref)``.

    ``promoter_credential`` is set on the references of a credentials section of a loaded pipeline
    file (``talend: {token: ${env:TALEND_ACCESS_TOKEN}}``): only those may name
    promoter's own variables. It is not part of the reference's identity (equality, hash, text).
    """

    __slots__ = ("name", "promoter_credential", "scheme")

    def __init__(self, scheme: str, name: str) -> None:
        if scheme not in SECRET_SCHEMES:
            raise ValueError(
                f"unknown secret scheme {scheme!r}; use ${{env:NAME}} or ${{file:path}}"
            )
        self.scheme = scheme
        self.name = name
        self.promoter_credential = False

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """Parse ``${scheme:name}``; raises ``ValueError`` for anything else."""
        match = SECRET_REF_PATTERN.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a secret reference like ${{env:NAME}}")
        return cls(match["scheme"], match["name"].strip())

    @staticmethod
    def looks_like(text: str) -> bool:
        """Whether ``text`` is written as a secret reference (``${...:...}``)."""
        return SECRET_REF_PATTERN.match(text.strip()) is not None

    def __str__(self) -> str:
        return f"${{{self.scheme}:{self.name}}}"

    def __repr__(self) -> str:
        return f"SecretRef({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretRef) and (self.scheme, self.name) == (
            other.scheme,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.scheme, self.name))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_str = core_schema.no_info_after_validator_function(cls.parse, core_schema.str_schema())
        return core_schema.union_schema(
            [core_schema.is_instance_schema(cls), from_str],
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


class SecretRefused(Exception):
    """A secret reference that cannot or may not be resolved; the message says why and what to
    do."""


class Secrets:
    """Resolves secret references for stages, and masks resolved values in text.

    What a reference may read:

    - ``${env:NAME}``: an environment variable — not one of promoter's own (``TALEND_*``,
      ``PROMOTER_*``) except in the ``talend:`` section, where promoter authenticates with it;
    - ``${file:PATH}``: a regular file (no device, FIFO, socket or directory; nothing under
      ``/proc``, ``/sys`` or ``/dev``) whose real path, symbolic links resolved, lies in the
      pipeline file's directory or in a directory of ``PROMOTER_SECRETS_DIR`` (several separated
      by ``os.pathsep``); at most :data:`MAX_SECRET_FILE_BYTES`, UTF-8, stripped of surrounding
      whitespace. A relative ``PATH`` starts at the pipeline file's directory.

    The rules are checked when the pipeline file is validated (:func:`load_pipeline`) and again
    by :meth:`resolve`, whoever asks. Values are not cached or stored; the resolved values are
    remembered only to :meth:`redact` them from messages.
    """

    MASK = "***"

    def __init__(self, base_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.base_dir = base_dir
        self._environ = environ
        self._seen: set[str] = set()

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment references are resolved against."""
        return os.environ if self._environ is None else self._environ

    def allowed_directories(self) -> list[Path]:
        """Where ``${file:...}`` may read: the pipeline's directory, then ``PROMOTER_SECRETS_DIR``."""
        directories = [Path(os.path.realpath(self.base_dir))]
        for entry in self.environ.get(SECRETS_DIR_VARIABLE, "").split(os.pathsep):
            if entry.strip():
                directories.append(Path(os.path.realpath(Path(entry.strip()).expanduser())))
        return directories

    def problem(self, ref: SecretRef) -> str | None:
        """Why ``ref`` cannot be resolved, or ``None`` when it can (the value is not kept)."""
        try:
            self._value(ref)
        except SecretRefused as exc:
            return str(exc)
        return None

    def resolve(self, ref: SecretRef | str) -> str:
        """The secret's value. Never store, log or report it."""
        if isinstance(ref, str):
            ref = SecretRef.parse(ref)
        try:
            value = self._value(ref)
        except SecretRefused as exc:
            from promoter.errors import ConfigurationError

            raise ConfigurationError(
                str(exc), hint="fix the reference, then resume the run"
            ) from None
        if len(value) >= 3:
            self._seen.add(value)
        return value

    def redact(self, text: str) -> str:
        """``text`` with every secret value resolved so far replaced by ``***``."""
        for value in sorted(self._seen, key=len, reverse=True):
            text = text.replace(value, self.MASK)
        return text

    def _value(self, ref: SecretRef) -> str:
        if ref.scheme == "env":
            if is_own_setting(ref.name) and not ref.promoter_credential:
                raise SecretRefused(
                    f"secret {ref} is refused: TALEND_* and PROMOTER_* variables are promoter's "
                    "own credentials and settings, readable only in the talend: section (where "
                    "promoter authenticates with them) — elsewhere they would be written into "
                    "Talend; put the value in a variable of its own, e.g. ${env:FINANCE_DB_PASSWORD}"
                )
            if ref.name not in self.environ:
                raise SecretRefused(
                    f"secret {ref} cannot be resolved: environment variable {ref.name} is not set"
                )
            return self.environ[ref.name]
        return self._read_file(ref)

    def _read_file(self, ref: SecretRef) -> str:
        path = Path(ref.name).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        real = Path(os.path.realpath(path))
        try:
            status: os.stat_result | None = os.stat(real)
        except OSError:
            status = None
        if status is not None and not stat.S_ISREG(status.st_mode):
            raise SecretRefused(
                f"secret {ref} is refused: {real} is {_file_kind(status.st_mode)}, not a regular "
                "file; a secret file holds the value as text"
            )
        if any(real == Path(d) or Path(d) in real.parents for d in SYSTEM_DIRECTORIES):
            raise SecretRefused(
                f"secret {ref} is refused: {real} is a system file (under "
                f"{', '.join(SYSTEM_DIRECTORIES)}), never a secret; write the value to a file "
                "next to the pipeline file or in PROMOTER_SECRETS_DIR"
            )
        directories = self.allowed_directories()
        if not any(real == d or d in real.parents for d in directories):
            configured = ", ".join(str(d) for d in directories[1:]) or "not set"
            raise SecretRefused(
                f"secret {ref} is refused: {real} is outside the pipeline file's directory "
                f"({directories[0]}) and the secrets directories ({SECRETS_DIR_VARIABLE}: "
                f"{configured}); move the file there, or add its directory to "
                f"{SECRETS_DIR_VARIABLE} (several separated by {os.pathsep!r})"
            )
        if status is None:
            raise SecretRefused(f"secret {ref} cannot be resolved: file {path} does not exist")
        if status.st_size > MAX_SECRET_FILE_BYTES:
            raise SecretRefused(_too_large(ref, real))
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            descriptor = os.open(real, flags)
        except OSError as exc:
            raise SecretRefused(
                f"secret {ref} cannot be resolved: file {path} is not readable "
                f"({exc.strerror or exc})"
            ) from None
        with os.fdopen(descriptor, "rb") as handle:
            # The open file is what counts: it may have been swapped since the checks above.
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SecretRefused(f"secret {ref} is refused: {real} is not a regular file")
            data = handle.read(MAX_SECRET_FILE_BYTES + 1)
        if len(data) > MAX_SECRET_FILE_BYTES:
            raise SecretRefused(_too_large(ref, real))
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise SecretRefused(
                f"secret {ref} cannot be resolved: file {path} is not UTF-8 text"
            ) from None


def _too_large(ref: SecretRef, real: Path) -> str:
    return (
        f"secret {ref} is refused: {real} is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB; "
        "a secret file holds one value"
    )


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")
