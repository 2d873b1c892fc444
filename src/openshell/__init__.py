"""openshell-gateway: a gateway that runs AI-agent sandboxes through compute drivers.

This top-level package is also the API for driver authors: implement
`ComputeDriver`, describe it with the hooks in `openshell.hookspecs`, and
serve it on a Unix socket with `openshell.sdk`.

Names are imported on first use, because `ComputeDriver` pulls in grpc and
protobuf and a driver plugin's light module must not pay for that when the
host only lists drivers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ComputeDriver": "openshell.driver",
    "ConfigError": "openshell.errors",
    "DriverContext": "openshell.plugin",
    "DriverDescription": "openshell.plugin",
    "DriverError": "openshell.errors",
    "DriverStartError": "openshell.errors",
    "ManagedCommand": "openshell.plugin",
    "OpenShellError": "openshell.errors",
    "PluginError": "openshell.errors",
    "ProbeResult": "openshell.plugin",
    "StoreError": "openshell.errors",
    "hookimpl": "openshell.hookspecs",
}

__all__ = [
    "ComputeDriver",
    "ConfigError",
    "DriverContext",
    "DriverDescription",
    "DriverError",
    "DriverStartError",
    "ManagedCommand",
    "OpenShellError",
    "PluginError",
    "ProbeResult",
    "StoreError",
    "__version__",
    "hookimpl",
]

if TYPE_CHECKING:
    from openshell.driver import ComputeDriver
    from openshell.errors import (
        ConfigError,
        DriverError,
        DriverStartError,
        OpenShellError,
        PluginError,
        StoreError,
    )
    from openshell.hookspecs import hookimpl
    from openshell.plugin import (
        DriverContext,
        DriverDescription,
        ManagedCommand,
        ProbeResult,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openshell' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
