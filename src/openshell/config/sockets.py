"""The rule for Unix socket paths named in the configuration.

The rule itself lives in the driver SDK, which checks `--bind-socket` too.
"""

from __future__ import annotations

from openshell.unix_sockets import MAX_SOCKET_PATH_BYTES as SOCKET_PATH_MAX_BYTES
from openshell.unix_sockets import check_socket_path

__all__ = ["SOCKET_PATH_MAX_BYTES", "check_socket_path"]
