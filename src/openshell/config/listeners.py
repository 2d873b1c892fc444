"""Addresses of the main, health and metrics listeners, and their port rule."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

from openshell.config.document import ConfigDocument
from openshell.config.launch import CommandLine, describe, env_setting, flag_setting
from openshell.config.provenance import (
    DEFAULT_SOURCE,
    Setting,
    combine_sources,
    first_setting,
)
from openshell.config.schema import (
    BIND_ADDRESS,
    DEFAULT_BIND_IP,
    DEFAULT_PORT,
    GATEWAY_TABLE,
    HEALTH_PORT,
    METRICS_PORT,
    PORT,
    LaunchOption,
)
from openshell.config.toml_lines import KeyPath
from openshell.config.values import (
    Address,
    check_port,
    parse_address,
    parse_ip,
    parse_ip_or_address,
    parse_port,
)
from openshell.errors import ConfigError

BIND_KEY = (*GATEWAY_TABLE, "bind_address")
HEALTH_KEY = (*GATEWAY_TABLE, "health_bind_address")
METRICS_KEY = (*GATEWAY_TABLE, "metrics_bind_address")


def merge_bind_address(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
) -> Setting[Address]:
    """Merge the main address; IP and port may come from different sources.

    OPENSHELL_BIND_ADDRESS takes `IP` or `IP:port`; its port ranks below
    OPENSHELL_SERVER_PORT, which names the port alone.
    """
    env_ip, env_address_port = _env_bind_address(environ)
    file_ip, file_port = _file_address(document, BIND_KEY)

    flag_ip = flag_setting(command_line.bind_address, BIND_ADDRESS)
    if flag_ip is not None:
        flag_ip = Setting(
            parse_ip(flag_ip.value, describe(flag_ip, ())), flag_ip.source
        )
    ip = first_setting(flag_ip, env_ip, file_ip) or Setting(
        DEFAULT_BIND_IP, DEFAULT_SOURCE
    )

    port = first_setting(
        _flag_port(command_line.port, PORT),
        _env_port(environ, PORT),
        env_address_port,
        file_port,
    ) or Setting(DEFAULT_PORT, DEFAULT_SOURCE)

    source = combine_sources([("IP", ip.source), ("port", port.source)])
    return Setting((ip.value, port.value), source)


def merge_side_listener(
    flag_port: int | None,
    option: LaunchOption,
    key: KeyPath,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
    main: Setting[Address],
) -> Setting[Address | None]:
    """Merge the health or metrics address; a port alone takes the main IP."""
    port = first_setting(_flag_port(flag_port, option), _env_port(environ, option))
    if port is not None:
        return Setting((main.value[0], port.value), port.source)
    file_ip, file_port = _file_address(document, key)
    if file_ip is None or file_port is None:
        return Setting(None, DEFAULT_SOURCE)
    return Setting((file_ip.value, file_port.value), file_port.source)


def merge_listeners(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
) -> tuple[Setting[Address], Setting[Address | None], Setting[Address | None]]:
    """Merge the main, health and metrics addresses and check their ports differ."""
    main = merge_bind_address(command_line, environ, document)
    health = merge_side_listener(
        command_line.health_port, HEALTH_PORT, HEALTH_KEY, environ, document, main
    )
    metrics = merge_side_listener(
        command_line.metrics_port, METRICS_PORT, METRICS_KEY, environ, document, main
    )
    check_distinct_ports({"main": main, "health": health, "metrics": metrics})
    return main, health, metrics


def check_distinct_ports(listeners: Mapping[str, Setting[Address | None]]) -> None:
    """Raise ConfigError when two enabled listeners share a port."""
    enabled = [
        (name, setting.value[1], setting.source)
        for name, setting in listeners.items()
        if setting.value is not None
    ]
    for first, second in combinations(enabled, 2):
        (first_name, port, first_source), (second_name, other_port, second_source) = (
            first,
            second,
        )
        if port == other_port:
            raise ConfigError(
                f"the {second_name} port {port} ({second_source}) is the same as "
                f"the {first_name} port ({first_source}): give each listener its "
                "own port"
            )


def _flag_port(value: int | None, option: LaunchOption) -> Setting[int] | None:
    flag = flag_setting(value, option)
    if flag is None:
        return None
    return Setting(check_port(flag.value, describe(flag, ())), flag.source)


def _env_port(environ: Mapping[str, str], option: LaunchOption) -> Setting[int] | None:
    variable = env_setting(environ, option)
    if variable is None:
        return None
    return Setting(parse_port(variable.value, describe(variable, ())), variable.source)


def _env_bind_address(
    environ: Mapping[str, str],
) -> tuple[Setting[str] | None, Setting[int] | None]:
    variable = env_setting(environ, BIND_ADDRESS)
    if variable is None:
        return None, None
    ip, port = parse_ip_or_address(variable.value, describe(variable, ()))
    port_setting = None if port is None else Setting(port, variable.source)
    return Setting(ip, variable.source), port_setting


def _file_address(
    document: ConfigDocument | None, key: KeyPath
) -> tuple[Setting[str] | None, Setting[int] | None]:
    entry = document.setting(key) if document else None
    if entry is None:
        return None, None
    ip, port = parse_address(entry.value, describe(entry, key))
    return Setting(ip, entry.source), Setting(port, entry.source)
