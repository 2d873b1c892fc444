"""The gateway core: sandbox store, lifecycle loops and the public API service.

`open_store` opens the store a database URL names, `Gateway` runs the
lifecycle over one driver, and `OpenShellService` serves
`openshell.v1.OpenShell` from a gateway.
"""

from __future__ import annotations

from openshell.gateway.core import Gateway, shutdown_failure_message
from openshell.gateway.errors import ApiError, NameConflictError, VersionConflictError
from openshell.gateway.service import OpenShellService
from openshell.gateway.sqlite_store import SqliteStore, check_store_url, open_store
from openshell.gateway.store import SandboxStore

__all__ = [
    "ApiError",
    "Gateway",
    "NameConflictError",
    "OpenShellService",
    "SandboxStore",
    "SqliteStore",
    "VersionConflictError",
    "check_store_url",
    "open_store",
    "shutdown_failure_message",
]
