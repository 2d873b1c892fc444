"""Gateway configuration: gateway.toml, OPENSHELL_* variables and flags, merged.

`load_config` returns a `GatewayConfig` whose every value is a `Setting` that
keeps its `Source`. Driver tables stay raw until a driver is selected;
`prepare_driver_table` then completes and checks the selected one.
"""

from __future__ import annotations

from openshell.config.drivers import (
    DriverConfigError,
    DriverTable,
    prepare_driver_table,
)
from openshell.config.gateway_config import GatewayConfig, TlsFiles
from openshell.config.launch import CommandLine
from openshell.config.loader import load_config
from openshell.config.provenance import Setting, Source
from openshell.config.sockets import SOCKET_PATH_MAX_BYTES, check_socket_path

__all__ = [
    "SOCKET_PATH_MAX_BYTES",
    "CommandLine",
    "DriverConfigError",
    "DriverTable",
    "GatewayConfig",
    "Setting",
    "Source",
    "TlsFiles",
    "check_socket_path",
    "load_config",
    "prepare_driver_table",
]
