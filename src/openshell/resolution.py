"""Selection and resolution: from the configuration to one driver placement.

Selection picks the driver name (from the configuration, or by auto-detection
probes). Resolution decides how that name runs: in-process, behind a remote
socket the operator runs, or as a managed program the gateway starts. Every
failure here happens before the gateway opens listeners or touches the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from loguru import logger

from openshell.config import DriverConfigError, GatewayConfig, prepare_driver_table
from openshell.errors import ConfigError, PluginError
from openshell.host import DriverEntry, PluginHost
from openshell.names import RESERVED_DRIVERS, package_for
from openshell.plugin import ProbeResult
from openshell.unix_sockets import check_socket_path

Placement = Literal["in-process", "remote", "managed"]


@dataclass(frozen=True)
class Selection:
    """The selected driver name and why it was chosen."""

    name: str
    reason: str


@dataclass(frozen=True)
class Resolution:
    """Placement of the selected driver, with its validated table."""

    name: str
    placement: Placement
    reason: str
    socket_path: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    entry: DriverEntry | None = None


def select_driver(config: GatewayConfig, host: PluginHost) -> Selection:
    """Return the one selected driver name, auto-detecting when none is given."""
    names = config.compute_drivers.value
    socket = config.compute_driver_socket.value
    if socket is not None and not (config.drivers_from_launch and names):
        raise ConfigError(
            f"the compute driver socket from {config.compute_driver_socket.source} "
            "needs exactly one driver name from --drivers or OPENSHELL_DRIVERS; a "
            "compute_drivers list in the file does not count"
        )
    if len(names) > 1:
        listed = ", ".join(names)
        raise ConfigError(
            f"multiple compute drivers are not supported yet: {listed} "
            f"({config.compute_drivers.source}); select exactly one"
        )
    if names:
        return Selection(names[0], f"selected by {config.compute_drivers.source}")
    return _auto_detect(host)


def _auto_detect(host: PluginHost) -> Selection:
    probes: list[tuple[ProbeResult, str]] = []
    for name in host.names():
        entry = host.load(name)
        if entry is None or entry.status != "ok":
            continue
        result = host.call(name, "openshell_driver_probe")
        if isinstance(result, ProbeResult):
            probes.append((result, name))

    report: list[str] = []
    for result, name in sorted(probes, key=lambda probe: probe[0].priority):
        outcomes = "; ".join(result.outcomes) or "no candidates"
        logger.info(
            "auto-detect {}: {} ({})",
            name,
            "available" if result.available else "unavailable",
            outcomes,
        )
        report.append(f"  {name}: {outcomes}")
        if result.available:
            return Selection(name, "auto-detected")

    details = "\n".join(report) or "  no installed driver has a probe"
    raise ConfigError(
        "no compute driver selected and none was detected:\n"
        f"{details}\n"
        "select one with --drivers NAME, OPENSHELL_DRIVERS=NAME or "
        'compute_drivers = ["NAME"] in [openshell.gateway]'
    )


def resolve_driver(config: GatewayConfig, host: PluginHost) -> Resolution:
    """Select the driver and decide its placement, validating its table."""
    selection = select_driver(config, host)
    name = selection.name
    socket = config.compute_driver_socket.value

    if socket is not None:
        # The loader already checked the path itself.
        return Resolution(name, "remote", selection.reason, socket_path=socket)

    if name in RESERVED_DRIVERS:
        entry = host.require(name)
        return _resolve_plugin(config, host, entry, selection, reserved=True)

    table = config.driver_tables.get(name)
    if table is not None and "socket_path" in table.values:
        return _resolve_remote_table(config, name, selection)

    if host.load(name) is not None:
        entry = host.require(name)
        if entry.kind != "managed":
            raise PluginError(
                f"compute driver '{name}' from {entry.package} runs in-process, which "
                "only the in-tree drivers may do; run it behind a socket and set "
                f"socket_path in [openshell.drivers.{name}]"
            )
        return _resolve_plugin(config, host, entry, selection, reserved=False)

    installed = ", ".join(host.names()) or "none"
    raise ConfigError(
        f"remote compute driver '{name}' requires socket_path in "
        f"[openshell.drivers.{name}]; installing {package_for(name)} would also "
        f"provide it (installed drivers: {installed})"
    )


def _resolve_remote_table(
    config: GatewayConfig, name: str, selection: Selection
) -> Resolution:
    table = config.driver_tables[name]
    socket_path = table.values["socket_path"]
    if not isinstance(socket_path, str):
        raise ConfigError(f"{table.where('socket_path')}: socket_path must be a string")
    check_socket_path(socket_path, table.where("socket_path"))
    return Resolution(name, "remote", selection.reason, socket_path=socket_path)


def _resolve_plugin(
    config: GatewayConfig,
    host: PluginHost,
    entry: DriverEntry,
    selection: Selection,
    *,
    reserved: bool,
) -> Resolution:
    description = entry.description
    assert description is not None
    table, warnings = prepare_driver_table(
        config,
        entry.name,
        config_keys=description.config_keys,
        unused_keys=description.unused_keys,
        reserved=reserved,
    )
    validated = validate_driver_table(config, host, entry.name, table)
    placement: Placement = "managed" if description.kind == "managed" else "in-process"
    return Resolution(
        entry.name,
        placement,
        selection.reason,
        config=validated,
        warnings=tuple(warnings),
        entry=entry,
    )


def validate_driver_table(
    config: GatewayConfig, host: PluginHost, name: str, table: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Run the plugin's validator, pointing its errors at the table's key and line."""
    try:
        validated = host.call(name, "openshell_driver_validate_config", table=table)
    except DriverConfigError as error:
        driver_table = config.driver_tables.get(name)
        where = (
            driver_table.where(error.key)
            if driver_table is not None
            else f"[openshell.drivers.{name}] {error.key}"
        )
        raise ConfigError(f"{where}: {error.message}") from None
    return table if validated is None else validated
