"""`openshell-driver-docker`: serve the Docker driver on a Unix socket on its own."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from loguru import logger

from openshell.cli.edge import error_edge
from openshell.logs import LOG_LEVELS, configure_logging
from openshell.sdk import serve_driver
from openshell_driver_docker.config_file import load_config_file
from openshell_driver_docker.plugin import open_driver

DEFAULT_GATEWAY_BIND = "127.0.0.1:50051"

click.rich_click.USE_MARKDOWN = True

log = logger.bind(driver="docker")


def _check_gateway_bind(
    context: click.Context, parameter: click.Parameter, value: str
) -> str:
    host, separator, port = value.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(
            f"{value!r} is not HOST:PORT with a port from 1 to 65535"
        )
    return value


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="openshell-driver-docker", prog_name="openshell-driver-docker"
)
@click.option(
    "--bind-socket",
    envvar="OPENSHELL_COMPUTE_DRIVER_SOCKET",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Unix socket to serve the compute driver API on; its directory is "
    "made private (0700).",
)
@click.option(
    "--config",
    "config_path",
    envvar="OPENSHELL_DOCKER_DRIVER_CONFIG",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file with the keys of [openshell.drivers.docker] at top level, "
    "such as socket_path and image_pull_policy. An empty file uses the defaults.",
)
@click.option(
    "--log-level",
    envvar="OPENSHELL_LOG_LEVEL",
    default="info",
    show_default=True,
    type=click.Choice([*LOG_LEVELS, "warn"], case_sensitive=False),
    help="Lowest level of the log lines written to stderr.",
)
@click.option(
    "--gateway-bind",
    envvar="OPENSHELL_GATEWAY_BIND",
    default=DEFAULT_GATEWAY_BIND,
    show_default=True,
    callback=_check_gateway_bind,
    help="Gateway address as HOST:PORT. Accepted like upstream's flag and "
    "checked, but unused: sandboxes here make no callbacks to the gateway.",
)
def cli(
    bind_socket: Path, config_path: Path, log_level: str, gateway_bind: str
) -> None:
    """Serve the Docker compute driver on a Unix socket until SIGINT or SIGTERM.

    The socket is private to the user that runs the program. The config
    file may be empty to use every default.

    Example:

        openshell-driver-docker --bind-socket /tmp/driver.sock --config docker.toml
    """
    with error_edge(debug=False):
        configure_logging(log_level)
        config = load_config_file(config_path)
        for key in config.ignored_keys:
            log.warning("{}: key {} is ignored by this driver", config_path, key)
        status = serve_driver(lambda: open_driver(config.settings), bind_socket)
    raise SystemExit(status)


def main() -> None:
    cli()
