"""Records of discovered driver plugins."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Literal

from openshell.plugin import DriverDescription

PluginStatus = Literal["ok", "error", "conflict", "disabled", "found"]


@dataclass
class DriverEntry:
    """One entry point of the compute-driver group and what loading it gave.

    `status` is "found" until the plugin is imported, then "ok" or "error";
    "conflict" and "disabled" entries are never imported.
    """

    name: str
    entry_point: EntryPoint
    distribution: str
    version: str
    status: PluginStatus = "found"
    reason: str = ""
    description: DriverDescription | None = None
    plugin: object | None = None

    @property
    def package(self) -> str:
        """Return the distribution and version, for messages."""
        return f"{self.distribution} {self.version}"

    @property
    def kind(self) -> str:
        return self.description.kind if self.description else "unknown"
