"""Hook specifications that a compute driver plugin implements.

A plugin is the object an entry point in the `openshell.compute_drivers` group
names; the entry point's name is the driver name. Importing it must stay
cheap: heavy client libraries load only inside `openshell_driver_create`.
The host calls each hook on one plugin at a time, so `firstresult` returns
that plugin's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from openshell.driver import ComputeDriver
    from openshell.plugin import (
        DriverContext,
        DriverDescription,
        ManagedCommand,
        ProbeResult,
    )

PROJECT_NAME = "openshell"
ENTRY_POINT_GROUP = "openshell.compute_drivers"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def openshell_driver_describe() -> DriverDescription:  # type: ignore[empty-body]
    """Called for listing and selection; return the driver's description."""


@hookspec(firstresult=True)
def openshell_driver_validate_config(  # type: ignore[empty-body]
    table: Mapping[str, Any],
) -> Mapping[str, Any]:
    """Called with the selected driver's table, defaults filled; return it checked.

    Raise `openshell.config.DriverConfigError(key, message)` for a bad value.
    Unknown keys were already rejected by the host.
    """


@hookspec(firstresult=True)
def openshell_driver_probe() -> ProbeResult | None:
    """Called when no driver is selected; return whether the backend responds."""


@hookspec(firstresult=True)
def openshell_driver_create(  # type: ignore[empty-body]
    config: Mapping[str, Any], context: DriverContext
) -> ComputeDriver:
    """Called to acquire an in-process driver; return it ready for calls."""


@hookspec(firstresult=True)
def openshell_driver_command(  # type: ignore[empty-body]
    config: Mapping[str, Any], context: DriverContext
) -> ManagedCommand:
    """Called to acquire a managed driver; return the program to start."""
