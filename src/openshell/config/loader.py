"""`load_config`: merge flags, OPENSHELL_* variables, gateway.toml and defaults.

Precedence is flag > variable > file > default for every setting, and lists
are replaced whole. Each value keeps its source for messages and
`openshell-gateway config show`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from openshell.config.document import ConfigDocument, read_config_file
from openshell.config.drivers import collect_driver_tables
from openshell.config.file_checks import check_document
from openshell.config.gateway_config import GatewayConfig
from openshell.config.launch import CommandLine, describe, env_setting, flag_setting
from openshell.config.listeners import merge_listeners
from openshell.config.paths import default_database_url, state_dir
from openshell.config.provenance import DEFAULT_SOURCE, Setting, first_setting
from openshell.config.schema import (
    COMPUTE_DRIVER_SOCKET,
    DATABASE_URL,
    DEFAULT_LOG_LEVEL,
    DRIVERS,
    GATEWAY_TABLE,
    LOG_LEVEL,
)
from openshell.config.sockets import check_socket_path
from openshell.config.tls_settings import merge_disable_tls, merge_tls
from openshell.config.toml_lines import KeyPath
from openshell.config.values import parse_log_level, require_text
from openshell.errors import ConfigError
from openshell.names import normalize_driver_name

LOG_LEVEL_KEY = (*GATEWAY_TABLE, "log_level")
COMPUTE_DRIVERS_KEY = (*GATEWAY_TABLE, "compute_drivers")
DEFAULT_IMAGE_KEY = (*GATEWAY_TABLE, "default_image")
SANDBOX_NAMESPACE_KEY = (*GATEWAY_TABLE, "sandbox_namespace")
LAUNCH_KINDS = frozenset({"flag", "env"})


def load_config(command_line: CommandLine, environ: Mapping[str, str]) -> GatewayConfig:
    """Load and merge the gateway configuration, or raise ConfigError.

    `environ` is read for the OPENSHELL_* variables and for the XDG and HOME
    variables that locate the config file and the state directory.
    """
    document = read_config_file(command_line.config_path, environ)
    warnings = check_document(document) if document else []

    bind, health, metrics = merge_listeners(command_line, environ, document)
    compute_drivers = merge_compute_drivers(command_line, environ, document)
    disable_tls = merge_disable_tls(command_line, environ, document)
    tls, tls_warnings = merge_tls(command_line, environ, document, disable_tls)

    return GatewayConfig(
        path=document.path if document else None,
        bind_address=bind,
        health_bind_address=health,
        metrics_bind_address=metrics,
        log_level=merge_log_level(command_line, environ, document),
        compute_drivers=compute_drivers,
        drivers_from_launch=compute_drivers.source.kind in LAUNCH_KINDS,
        default_image=_file_only(document, DEFAULT_IMAGE_KEY),
        sandbox_namespace=_file_only(document, SANDBOX_NAMESPACE_KEY),
        disable_tls=disable_tls,
        tls=tls,
        database_url=merge_database_url(command_line, environ),
        compute_driver_socket=merge_compute_driver_socket(command_line, environ),
        state_dir=state_dir(environ),
        driver_tables=collect_driver_tables(document),
        warnings=(*warnings, *tls_warnings),
    )


def merge_log_level(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
) -> Setting[str]:
    """Merge the log level and spell it canonically (`warn` becomes `warning`)."""
    raw = first_setting(
        flag_setting(command_line.log_level, LOG_LEVEL),
        env_setting(environ, LOG_LEVEL),
        document.setting(LOG_LEVEL_KEY) if document else None,
    )
    if raw is None:
        return Setting(DEFAULT_LOG_LEVEL, DEFAULT_SOURCE)
    level = parse_log_level(raw.value, describe(raw, LOG_LEVEL_KEY))
    return Setting(level, raw.source)


def merge_compute_drivers(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
) -> Setting[tuple[str, ...]]:
    """Merge the selected driver names, normalized, duplicates kept.

    A flag or variable contains comma-separated names; one that is blank as a
    whole selects no driver, which means auto-detection.
    """
    flag = flag_setting(command_line.drivers, DRIVERS)
    if flag is not None:
        names = [name for entry in flag.value for name in _split_names(entry)]
        return Setting(_normalize_names(names, describe(flag, ())), flag.source)

    variable = env_setting(environ, DRIVERS)
    if variable is not None:
        names = _split_names(variable.value)
        return Setting(_normalize_names(names, describe(variable, ())), variable.source)

    listed = document.setting(COMPUTE_DRIVERS_KEY) if document else None
    if listed is not None:
        where = describe(listed, COMPUTE_DRIVERS_KEY)
        return Setting(_normalize_names(listed.value, where), listed.source)
    return Setting((), DEFAULT_SOURCE)


def _split_names(text: str) -> list[str]:
    return text.split(",") if text.strip() else []


def _normalize_names(names: Iterable[str], where: str) -> tuple[str, ...]:
    try:
        return tuple(normalize_driver_name(name) for name in names)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def merge_database_url(
    command_line: CommandLine, environ: Mapping[str, str]
) -> Setting[str]:
    """Merge the store URL; it never comes from the file because it is a secret."""
    raw = first_setting(
        flag_setting(command_line.db_url, DATABASE_URL),
        env_setting(environ, DATABASE_URL),
    )
    if raw is None:
        return Setting(default_database_url(environ), DEFAULT_SOURCE)
    require_text(raw.value, "database URL", describe(raw, ()))
    return raw


def merge_compute_driver_socket(
    command_line: CommandLine, environ: Mapping[str, str]
) -> Setting[str | None]:
    """Merge the launch-time driver socket and check it as a Unix socket path."""
    raw = first_setting(
        flag_setting(command_line.compute_driver_socket, COMPUTE_DRIVER_SOCKET),
        env_setting(environ, COMPUTE_DRIVER_SOCKET),
    )
    if raw is None:
        return Setting(None, DEFAULT_SOURCE)
    check_socket_path(raw.value, describe(raw, ()))
    return Setting(raw.value, raw.source)


def _file_only(document: ConfigDocument | None, key: KeyPath) -> Setting[str | None]:
    value = document.setting(key) if document else None
    return value or Setting(None, DEFAULT_SOURCE)
