"""`[openshell.drivers.<name>]` tables: collected at load, completed on selection.

At load time a driver table may have any shape. When a driver is selected,
`prepare_driver_table` rejects keys its plugin does not know, warns about
upstream keys it ignores, and fills in inherited keys and defaults before the
plugin's own validator receives the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openshell.config.document import ConfigDocument, key_label
from openshell.config.file_checks import ignored_key_warning
from openshell.config.key_errors import type_error, unknown_key_error
from openshell.config.schema import DRIVERS_TABLE, INHERITED_KEYS, REMOTE_SOCKET_KEY
from openshell.config.sockets import check_socket_path
from openshell.config.toml_lines import KeyPath
from openshell.errors import ConfigError
from openshell.names import normalize_driver_name

if TYPE_CHECKING:
    from openshell.config.gateway_config import GatewayConfig


class DriverConfigError(ConfigError):
    """A driver plugin's validator rejected the value of one key of its table."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class DriverTable:
    """One `[openshell.drivers.<name>]` table as written, with key lines.

    `lines` maps key paths relative to the table, such as `("socket_path",)`,
    to their line in `path`; `line` is the line of the table itself.
    """

    name: str
    values: Mapping[str, Any]
    path: Path | None
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    line: int | None = None

    def line_of(self, key: str) -> int | None:
        """Return the line of a key, also accepting a dotted key such as `a.b`."""
        line = self.lines.get((key,))
        if line is None:
            line = self.lines.get(tuple(key.split(".")))
        return line

    def where(self, key: str | None = None) -> str:
        """Name the table or one of its keys, with file and line when known."""
        header = key_label((*DRIVERS_TABLE, self.name), {})
        label = header if key is None else f"{header} {key}"
        line = self.line if key is None else self.line_of(key)
        if self.path is None:
            return label
        location = f"{self.path}:{line}" if line is not None else str(self.path)
        return f"{label} ({location})"


def collect_driver_tables(document: ConfigDocument | None) -> dict[str, DriverTable]:
    """Return the driver tables of the file by normalized name.

    Each key under `[openshell.drivers]` must hold a table and be a valid
    driver name; two spellings of one name are an error.
    """
    drivers = document.get(DRIVERS_TABLE) if document else None
    if document is None or drivers is None:
        return {}
    if not isinstance(drivers, Mapping):
        raise type_error(document.where(DRIVERS_TABLE), drivers, "table")
    tables: dict[str, DriverTable] = {}
    spellings: dict[str, str] = {}
    for raw_name, values in drivers.items():
        path = (*DRIVERS_TABLE, raw_name)
        if not isinstance(values, Mapping):
            raise type_error(document.where(path), values, "table")
        name = _normalize_table_name(document, path)
        if name in tables:
            raise _duplicate_table_error(document, name, spellings[name], raw_name)
        spellings[name] = raw_name
        tables[name] = _driver_table(document, name, path, values)
    return tables


def _normalize_table_name(document: ConfigDocument, path: KeyPath) -> str:
    try:
        return normalize_driver_name(str(path[-1]))
    except ConfigError as error:
        raise ConfigError(f"{document.where(path)}: {error}") from None


def _duplicate_table_error(
    document: ConfigDocument, name: str, first: str, second: str
) -> ConfigError:
    first_where = document.where((*DRIVERS_TABLE, first))
    second_where = document.where((*DRIVERS_TABLE, second))
    return ConfigError(
        f"{first_where} and {second_where} both configure driver {name!r}: "
        "merge them into one table"
    )


def _driver_table(
    document: ConfigDocument, name: str, path: KeyPath, values: Mapping[str, Any]
) -> DriverTable:
    depth = len(path)
    lines = {
        key_path[depth:]: line
        for key_path, line in document.lines.items()
        if key_path[:depth] == path and len(key_path) > depth
    }
    return DriverTable(
        name=name,
        values=values,
        path=document.path,
        lines=lines,
        line=document.lines.get(path),
    )


def prepare_driver_table(
    config: GatewayConfig,
    name: str,
    *,
    config_keys: Mapping[str, Any],
    unused_keys: frozenset[str],
    reserved: bool,
) -> tuple[dict[str, Any], list[str]]:
    """Complete the selected driver's table; return it and the warnings to log.

    Keys outside `config_keys` and `unused_keys` raise ConfigError, except
    `socket_path` for a non-reserved name, which the remote-socket plugin
    reads and which must then be a valid socket path. Keys in `unused_keys`
    only are dropped with one warning each. A reserved driver then inherits
    the `[openshell.gateway]` keys it declares in `config_keys` and does not
    set itself. Last, every key of `config_keys` still missing gets its
    default, None included.
    """
    table = config.driver_tables.get(name) or DriverTable(name, {}, None)
    accepted = set(config_keys) | unused_keys
    if not reserved:
        accepted.add(REMOTE_SOCKET_KEY)
    for key in table.values:
        if key not in accepted:
            raise unknown_key_error(table.where(key), key, accepted)

    ignored = [key for key in table.values if key in unused_keys - set(config_keys)]
    warnings = [ignored_key_warning(table.where(key), None) for key in ignored]
    values = {k: v for k, v in table.values.items() if k not in ignored}
    if not reserved and REMOTE_SOCKET_KEY in values:
        _check_remote_socket(table, values[REMOTE_SOCKET_KEY])

    if reserved:
        _inherit_gateway_keys(config, name, config_keys, values)
    for key, default in config_keys.items():
        values.setdefault(key, default)
    return values, warnings


def _check_remote_socket(table: DriverTable, value: Any) -> None:
    where = table.where(REMOTE_SOCKET_KEY)
    if not isinstance(value, str):
        raise type_error(where, value, "string")
    check_socket_path(value, where)


def _inherit_gateway_keys(
    config: GatewayConfig,
    name: str,
    config_keys: Mapping[str, Any],
    values: dict[str, Any],
) -> None:
    inherited = {
        "default_image": config.default_image.value,
        "sandbox_namespace": config.sandbox_namespace.value,
    }
    for key, gateway_key in INHERITED_KEYS.get(name, {}).items():
        value = inherited[gateway_key]
        if key in config_keys and key not in values and value is not None:
            values[key] = value
