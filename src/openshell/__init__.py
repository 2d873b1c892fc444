"""openshell-gateway: a gateway that runs AI-agent sandboxes through compute drivers.

This top-level package is also the API for driver authors: implement
`ComputeDriver`, describe it with the hooks in `openshell.hookspecs`, and
serve it on a Unix socket with `openshell.sdk`.
"""

from __future__ import annotations

from openshell.driver import ComputeDriver
from openshell.errors import (
    ConfigError,
    DriverError,
    OpenShellError,
    PluginError,
    StoreError,
)
from openshell.hookspecs import hookimpl
from openshell.plugin import DriverContext, DriverDescription, ManagedCommand, ProbeResult

__version__ = "0.1.0"

__all__ = [
    "ComputeDriver",
    "ConfigError",
    "DriverContext",
    "DriverDescription",
    "DriverError",
    "ManagedCommand",
    "OpenShellError",
    "PluginError",
    "ProbeResult",
    "StoreError",
    "__version__",
    "hookimpl",
]
