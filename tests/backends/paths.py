"""Directory layout shared by the test backends."""

import os
import re
import shutil
from pathlib import Path

ROOT_ENV = "OPENSHELL_TEST_ROOT"
DEFAULT_ROOT = Path("/tmp/openshell-test")

# Linux limits sun_path to 108 bytes including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107

# The root goes unquoted into KEY=VALUE output, daemon flags and config files.
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/-]*")


class BackendError(Exception):
    """Error from starting, stopping or querying a backend."""


def state_root() -> Path:
    """Return the root directory from OPENSHELL_TEST_ROOT, or the default.

    Raises BackendError if the path is relative or contains characters other than
    letters, digits, ``.``, ``_``, ``-`` and ``/``.
    """
    raw = os.environ.get(ROOT_ENV, "") or str(DEFAULT_ROOT)
    if not _SAFE_PATH.fullmatch(raw):
        raise BackendError(
            f"invalid {ROOT_ENV}={raw!r}: use an absolute path made of letters, "
            "digits, '.', '_', '-' and '/'"
        )
    return Path(raw)


def backend_dir(name: str) -> Path:
    """Return the directory that contains all state of one backend."""
    return state_root() / name


def check_socket_path(path: Path) -> None:
    """Raise BackendError if ``path`` is too long to bind a Unix socket to."""
    length = len(os.fsencode(path))
    if length > MAX_SOCKET_PATH_BYTES:
        raise BackendError(
            f"socket path {path} is {length} bytes, more than the "
            f"{MAX_SOCKET_PATH_BYTES} that Linux allows: set {ROOT_ENV} to a shorter "
            "directory"
        )


def find_program(name: str) -> str:
    """Return the path of the program ``name`` on PATH, or raise BackendError."""
    found = shutil.which(name)
    if found is None:
        raise BackendError(
            f"{name} not found on PATH: run scripts/install-system-deps, and make "
            "sure PATH contains /usr/sbin"
        )
    return found


def tail(path: Path, lines: int = 30) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(log file {path} not found)"
    return "\n".join(text.splitlines()[-lines:])
