"""Values given at launch: the parsed command line and OPENSHELL_* variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from openshell.config.document import key_label
from openshell.config.provenance import Setting, Source
from openshell.config.schema import LaunchOption
from openshell.config.toml_lines import KeyPath

T = TypeVar("T")


@dataclass(frozen=True)
class CommandLine:
    """Options the CLI parsed; None means the flag was not given.

    `bind_address` is the IP part only. Each entry of `drivers` comes from one
    `--drivers` or `--driver` flag and may itself be a comma-separated list.
    """

    config_path: str | None = None
    bind_address: str | None = None
    port: int | None = None
    health_port: int | None = None
    metrics_port: int | None = None
    log_level: str | None = None
    drivers: tuple[str, ...] | None = None
    db_url: str | None = None
    compute_driver_socket: str | None = None
    disable_tls: bool | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None


def flag_setting(value: T | None, option: LaunchOption) -> Setting[T] | None:
    """Wrap a flag's value with its source, or return None when it was not given."""
    if value is None:
        return None
    return Setting(value, Source("flag", option.flag))


def env_setting(
    environ: Mapping[str, str], option: LaunchOption
) -> Setting[str] | None:
    """Return a variable's value and source; a set but empty variable counts."""
    if option.variable not in environ:
        return None
    return Setting(environ[option.variable], Source("env", option.variable))


def describe(setting: Setting[Any], path: KeyPath) -> str:
    """Name where a value came from, for messages: flag, variable or key and line."""
    if setting.source.kind == "file":
        return f"{key_label(path)} ({setting.source})"
    return str(setting.source)
