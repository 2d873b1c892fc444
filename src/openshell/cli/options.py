"""Options shared by the commands that load the gateway configuration."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import rich_click as click

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--config",
        "config_path",
        metavar="PATH",
        help="gateway.toml to load. Env: OPENSHELL_GATEWAY_CONFIG. "
        "Default: $XDG_CONFIG_HOME/openshell/gateway.toml when it exists.",
    ),
    click.option(
        "--bind-address",
        metavar="IP",
        help="IP address of the public API listener. Env: OPENSHELL_BIND_ADDRESS. "
        "Default: 127.0.0.1.",
    ),
    click.option(
        "--port",
        type=int,
        metavar="PORT",
        help="TCP port of the public API. Env: OPENSHELL_SERVER_PORT. Default: 17670.",
    ),
    click.option(
        "--health-port",
        type=int,
        metavar="PORT",
        help="Serve GET /healthz and /readyz on this port. Env: "
        "OPENSHELL_HEALTH_PORT. Default: disabled.",
    ),
    click.option(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="Serve Prometheus metrics on this port. Env: OPENSHELL_METRICS_PORT. "
        "Default: disabled.",
    ),
    click.option(
        "--log-level",
        metavar="LEVEL",
        help="trace, debug, info, warning, error or critical. Env: "
        "OPENSHELL_LOG_LEVEL. Default: info. debug also prints tracebacks.",
    ),
    click.option(
        "--drivers",
        "--driver",
        "drivers",
        multiple=True,
        metavar="NAME",
        help="Compute driver to use (one). Env: OPENSHELL_DRIVERS. "
        "Default: compute_drivers from the file, else auto-detect.",
    ),
    click.option(
        "--db-url",
        metavar="URL",
        help="Sandbox store. Env: OPENSHELL_DB_URL. "
        "Default: sqlite:$XDG_STATE_HOME/openshell/gateway/openshell.db.",
    ),
    click.option(
        "--compute-driver-socket",
        metavar="PATH",
        help="Reach the driver named by --drivers on this Unix socket instead "
        "of building it. Env: OPENSHELL_COMPUTE_DRIVER_SOCKET.",
    ),
    click.option(
        "--disable-tls",
        is_flag=True,
        default=None,
        help="Serve plaintext gRPC even off loopback. Env: OPENSHELL_DISABLE_TLS. "
        "Default: plaintext on loopback, TLS required elsewhere.",
    ),
    click.option(
        "--tls-cert",
        metavar="PATH",
        help="TLS certificate (PEM). Env: OPENSHELL_TLS_CERT.",
    ),
    click.option(
        "--tls-key",
        metavar="PATH",
        help="TLS private key (PEM). Env: OPENSHELL_TLS_KEY.",
    ),
    click.option(
        "--tls-client-ca",
        metavar="PATH",
        help="CA bundle for client certificates. Env: OPENSHELL_TLS_CLIENT_CA.",
    ),
]


def config_options(command: F) -> F:
    """Add every configuration flag to `command`."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def command_line_from(options: dict[str, Any]) -> Any:
    """Build the config loader's CommandLine from parsed option values."""
    from openshell.config import CommandLine

    drivers = options.get("drivers") or None
    return CommandLine(
        config_path=options.get("config_path"),
        bind_address=options.get("bind_address"),
        port=options.get("port"),
        health_port=options.get("health_port"),
        metrics_port=options.get("metrics_port"),
        log_level=options.get("log_level"),
        drivers=tuple(drivers) if drivers else None,
        db_url=options.get("db_url"),
        compute_driver_socket=options.get("compute_driver_socket"),
        disable_tls=options.get("disable_tls"),
        tls_cert=options.get("tls_cert"),
        tls_key=options.get("tls_key"),
        tls_client_ca=options.get("tls_client_ca"),
    )


def debug_requested(options: dict[str, Any]) -> bool:
    """Return whether `--log-level` or its variable requests tracebacks."""
    level = options.get("log_level") or os.environ.get("OPENSHELL_LOG_LEVEL", "")
    return level.lower() in ("debug", "trace")
