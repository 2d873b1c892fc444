"""Plugin host: discovery and isolated loading of compute driver plugins."""

from openshell.host.entries import DriverEntry, PluginStatus
from openshell.host.manager import DISABLED_VARIABLE, STRICT_VARIABLE, PluginHost

__all__ = [
    "DISABLED_VARIABLE",
    "STRICT_VARIABLE",
    "DriverEntry",
    "PluginHost",
    "PluginStatus",
]
