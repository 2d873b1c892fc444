"""The plugin host: finds driver plugins by entry point and loads each in isolation."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from loguru import logger

from openshell import hookspecs
from openshell.errors import ConfigError, PluginError
from openshell.host.entries import DriverEntry
from openshell.names import RESERVED_DRIVERS, normalize_driver_name, package_for
from openshell.plugin import DriverDescription

STRICT_VARIABLE = "OPENSHELL_STRICT_PLUGINS"
"""Set to 1 to re-raise plugin load failures, for plugin authors."""

DISABLED_VARIABLE = "OPENSHELL_DISABLED_DRIVERS"
"""Comma-separated driver names that are found but never loaded."""


def _canonical_distribution(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _distribution_of(entry_point: EntryPoint) -> tuple[str, str]:
    dist = entry_point.dist
    if dist is None:
        return ("unknown", "unknown")
    return (_canonical_distribution(dist.metadata["Name"]), dist.version)


class PluginHost:
    """Discovers compute driver plugins, loads them on demand and calls their hooks.

    Finding reads only package metadata. Loading imports one plugin inside its
    own error boundary, so a broken plugin is marked `error` with the reason
    while the host and every other plugin keep working. The host keeps its own
    map from driver name to distribution and never relies on pluggy's.
    """

    def __init__(
        self,
        found: Iterable[EntryPoint] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self.strict = environ.get(STRICT_VARIABLE, "") not in ("", "0")
        disabled_names = environ.get(DISABLED_VARIABLE, "")
        self._disabled = {
            n.strip().lower() for n in disabled_names.split(",") if n.strip()
        }
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        if found is None:
            found = entry_points(group=hookspecs.ENTRY_POINT_GROUP)
        self._entries: dict[str, list[DriverEntry]] = {}
        self._invalid: list[DriverEntry] = []
        self._find(found)

    def _find(self, found: Iterable[EntryPoint]) -> None:
        seen: set[tuple[str, str, str]] = set()
        for entry_point in found:
            distribution, version = _distribution_of(entry_point)
            key = (entry_point.name, distribution, entry_point.value)
            if key in seen:
                continue  # the same distribution visible twice on sys.path
            seen.add(key)
            entry = DriverEntry(entry_point.name, entry_point, distribution, version)
            try:
                entry.name = normalize_driver_name(entry_point.name)
            except ConfigError as error:
                self._mark(entry, "error", f"invalid entry point name: {error}")
                self._invalid.append(entry)
                continue
            self._entries.setdefault(entry.name, []).append(entry)
        for name, entries in self._entries.items():
            self._check_claims(name, entries)

    def _check_claims(self, name: str, entries: list[DriverEntry]) -> None:
        owner = RESERVED_DRIVERS.get(name)
        if owner is not None:
            for entry in entries:
                if entry.distribution != owner:
                    self._mark(
                        entry,
                        "conflict",
                        f"'{name}' is a reserved driver name that only {owner} "
                        f"may register; {entry.package} claims it",
                    )
        claimants = [e for e in entries if e.status == "found"]
        if len({e.distribution for e in claimants}) > 1:
            packages = " and ".join(e.package for e in claimants)
            for entry in claimants:
                self._mark(
                    entry,
                    "conflict",
                    f"driver name '{name}' is registered by {packages}",
                )
        for entry in entries:
            if entry.status == "found" and name in self._disabled:
                self._mark(entry, "disabled", f"listed in {DISABLED_VARIABLE}")

    def _mark(self, entry: DriverEntry, status: Any, reason: str) -> None:
        entry.status = status
        entry.reason = reason
        logger.bind(driver=entry.name).warning(
            "compute driver plugin {} from {}: {}", status, entry.package, reason
        )

    def entries(self) -> list[DriverEntry]:
        """Return every discovered entry, sorted by name then distribution."""
        every = [e for group in self._entries.values() for e in group] + self._invalid
        return sorted(every, key=lambda e: (e.name, e.distribution))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def load(self, name: str) -> DriverEntry | None:
        """Import the plugin registered as `name`; return its entry, None if absent.

        A name whose every claimant is in conflict returns its first entry
        without importing anything.
        """
        group = self._entries.get(name)
        if not group:
            return None
        # A reserved name can have a conflicting claimant next to its owner;
        # the owner is the one to use.
        entry = next((e for e in group if e.status != "conflict"), group[0])
        if entry.status == "found":
            self._load(entry)
        return entry

    def load_all(self) -> list[DriverEntry]:
        for name in self._entries:
            self.load(name)
        return self.entries()

    def _load(self, entry: DriverEntry) -> None:
        try:
            plugin = entry.entry_point.load()
            self._pm.register(plugin, name=entry.name)
            entry.plugin = plugin
            description = self.call(entry.name, "openshell_driver_describe")
            if not isinstance(description, DriverDescription):
                raise TypeError(
                    "openshell_driver_describe must return a DriverDescription, "
                    f"got {type(description).__name__}"
                )
        except Exception as error:
            if entry.plugin is not None:
                self._pm.unregister(name=entry.name)
                entry.plugin = None
            self._mark(entry, "error", f"{type(error).__name__}: {error}")
            if self.strict:
                raise
            return
        entry.description = description
        entry.status = "ok"

    def require(self, name: str) -> DriverEntry:
        """Return the loaded, usable plugin for `name`, or raise PluginError."""
        entry = self.load(name)
        if entry is None:
            raise PluginError(
                f"compute driver '{name}' is not installed; install it with: "
                f"pip install {package_for(name)}"
            )
        if entry.status != "ok":
            raise PluginError(
                f"compute driver '{name}' cannot be used ({entry.status}): "
                f"{entry.reason}"
            )
        return entry

    def call(self, name: str, hook: str, **kwargs: Any) -> Any:
        """Call one hook of the plugin registered as `name` and return its result."""
        others = [
            plugin for other, plugin in self._pm.list_name_plugin() if other != name
        ]
        caller = self._pm.subset_hook_caller(hook, remove_plugins=others)
        return caller(**kwargs)
