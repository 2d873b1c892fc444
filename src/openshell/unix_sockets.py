"""Unix socket paths: the length rule, private directories, stale sockets."""

from __future__ import annotations

import errno
import os
import socket
import stat
from pathlib import Path

from openshell.errors import ConfigError

MAX_SOCKET_PATH_BYTES = 107
"""Longest Unix socket path on Linux: `sun_path` has room for 108 bytes with the NUL."""


def check_socket_path(path: str, where: str) -> None:
    """Raise ConfigError unless `path` can name a Unix socket on Linux.

    The path must be non-empty, absolute, free of NUL characters and at most
    107 bytes long once encoded. `where` names the flag, variable or key.
    """
    if not path:
        raise ConfigError(
            f"empty socket path from {where}: give the absolute path of a Unix socket"
        )
    if "\0" in path:
        raise ConfigError(f"invalid socket path {path!r} from {where}: it contains NUL")
    if not os.path.isabs(path):
        raise ConfigError(
            f"socket path {path!r} from {where} is not absolute: give an absolute path"
        )
    length = len(os.fsencode(path))
    if length > MAX_SOCKET_PATH_BYTES:
        raise ConfigError(
            f"socket path {path!r} from {where} is {length} bytes long, but Unix "
            f"socket paths on Linux are limited to {MAX_SOCKET_PATH_BYTES} bytes: "
            "use a shorter path"
        )


def socket_answers(path: Path) -> bool:
    """Return whether a process accepts connections on the Unix socket `path`."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def prepare_private_directory(directory: Path) -> None:
    """Create `directory` if needed and make it private (0700) to this user.

    Refuse a symlink, a directory owned by another user, and a shared sticky
    directory such as /tmp, whose mode must not be changed.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = directory.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"socket directory '{directory}' is not a real directory")
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"socket directory '{directory}' is owned by uid {info.st_uid}, not by "
            f"this process (uid {os.geteuid()}); use a directory you own"
        )
    if info.st_mode & stat.S_ISVTX and info.st_mode & stat.S_IWOTH:
        raise ConfigError(
            f"socket directory '{directory}' is shared by all users; put the socket "
            "in a private directory, for example /tmp/openshell-driver/driver.sock"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(directory, 0o700)


def remove_stale_socket(path: Path) -> None:
    """Remove a socket left by a dead process; refuse anything else at `path`.

    Only a socket owned by this user that no process accepts connections on is
    removed.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ConfigError(
            f"'{path}' exists and is not a socket; remove it or pick another path"
        )
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"socket '{path}' belongs to uid {info.st_uid}; pick another path"
        )
    if socket_answers(path):
        raise ConfigError(f"socket '{path}' is in use by a running process")
    try:
        path.unlink()
    except OSError as error:
        if error.errno != errno.ENOENT:
            raise
