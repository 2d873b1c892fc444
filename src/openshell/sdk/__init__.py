"""Driver SDK: serve any ComputeDriver implementation on a Unix socket.

A driver program builds its driver and calls `serve_driver`. A managed driver
program (one the gateway starts) also calls `read_launch_secret(os.environ)`
and passes the result, so only the gateway that started it may call it.
"""

from openshell.sdk.caller_auth import (
    SECRET_FD_VARIABLE,
    SECRET_METADATA_KEY,
    new_launch_secret,
    read_launch_secret,
)
from openshell.sdk.server import DriverServer, serve_driver, start_driver_server
from openshell.unix_sockets import MAX_SOCKET_PATH_BYTES, check_socket_path

__all__ = [
    "MAX_SOCKET_PATH_BYTES",
    "SECRET_FD_VARIABLE",
    "SECRET_METADATA_KEY",
    "DriverServer",
    "check_socket_path",
    "new_launch_secret",
    "read_launch_secret",
    "serve_driver",
    "start_driver_server",
]
