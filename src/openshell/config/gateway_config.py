"""The merged gateway configuration that the rest of the gateway reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from openshell.config.drivers import DriverTable
from openshell.config.provenance import Setting
from openshell.config.values import Address, format_address

MASK = "***"
_PASSWORD_QUERY_KEYS = frozenset({"password"})


@dataclass(frozen=True)
class TlsFiles:
    """PEM files the main listener serves TLS with."""

    cert_path: Path
    key_path: Path
    client_ca_path: Path | None = None


@dataclass(frozen=True)
class GatewayConfig:
    """Every effective gateway setting with its provenance.

    `compute_drivers` contains normalized names with duplicates kept.
    `drivers_from_launch` is True when they came from `--drivers` or
    OPENSHELL_DRIVERS, the only sources a launch-time driver socket pairs
    with. `tls` is None when no TLS files are set or when `disable_tls` is
    true. `warnings` lists one line per ignored key.
    """

    path: Path | None
    bind_address: Setting[Address]
    health_bind_address: Setting[Address | None]
    metrics_bind_address: Setting[Address | None]
    log_level: Setting[str]
    compute_drivers: Setting[tuple[str, ...]]
    drivers_from_launch: bool
    default_image: Setting[str | None]
    sandbox_namespace: Setting[str | None]
    disable_tls: Setting[bool]
    tls: Setting[TlsFiles | None]
    database_url: Setting[str]
    compute_driver_socket: Setting[str | None]
    state_dir: Path
    driver_tables: Mapping[str, DriverTable]
    warnings: tuple[str, ...]

    def settings(self) -> list[tuple[str, Setting[Any]]]:
        """List the settings for display, with values spelled as in the file.

        Addresses read `IP:port`, TLS files are a mapping of strings and the
        database URL has its password replaced by `***`.
        """
        return [
            ("gateway.bind_address", _address(self.bind_address)),
            ("gateway.health_bind_address", _address(self.health_bind_address)),
            ("gateway.metrics_bind_address", _address(self.metrics_bind_address)),
            ("gateway.log_level", self.log_level),
            ("gateway.compute_drivers", self.compute_drivers),
            ("gateway.default_image", self.default_image),
            ("gateway.sandbox_namespace", self.sandbox_namespace),
            ("gateway.disable_tls", self.disable_tls),
            ("gateway.tls", _tls(self.tls)),
            (
                "database_url",
                Setting(mask_url(self.database_url.value), self.database_url.source),
            ),
            ("compute_driver_socket", self.compute_driver_socket),
        ]


def _address(
    setting: Setting[Address | None] | Setting[Address],
) -> Setting[str | None]:
    value = None if setting.value is None else format_address(setting.value)
    return Setting(value, setting.source)


def _tls(setting: Setting[TlsFiles | None]) -> Setting[dict[str, str] | None]:
    files = setting.value
    if files is None:
        return Setting(None, setting.source)
    displayed = {"cert_path": str(files.cert_path), "key_path": str(files.key_path)}
    if files.client_ca_path is not None:
        displayed["client_ca_path"] = str(files.client_ca_path)
    return Setting(displayed, setting.source)


def mask_url(url: str) -> str:
    """Replace the password of a database URL, in user info or query, by `***`."""
    parts = urlsplit(url)
    masked = url
    user_info, at, _ = parts.netloc.rpartition("@")
    if at and ":" in user_info:
        user = user_info.split(":", 1)[0]
        masked = masked.replace(f"{user_info}@", f"{user}:{MASK}@", 1)

    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(key in _PASSWORD_QUERY_KEYS for key, _ in pairs):
        hidden = [(k, MASK if k in _PASSWORD_QUERY_KEYS else v) for k, v in pairs]
        query = urlencode(hidden, safe="*")
        masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
    return masked
