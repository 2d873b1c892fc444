"""The rule for Unix socket paths named in the configuration."""

from __future__ import annotations

import os

from openshell.errors import ConfigError

SOCKET_PATH_MAX_BYTES = 107
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
    if length > SOCKET_PATH_MAX_BYTES:
        raise ConfigError(
            f"socket path {path!r} from {where} is {length} bytes long, but Unix "
            f"socket paths on Linux are limited to {SOCKET_PATH_MAX_BYTES} bytes: "
            "use a shorter path"
        )
