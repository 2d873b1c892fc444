"""`openshell-gateway`: run the gateway and inspect its drivers and configuration."""

from __future__ import annotations

import os
from typing import Any

import rich_click as click

from openshell.cli.config_commands import config_group
from openshell.cli.drivers import drivers_group
from openshell.cli.edge import error_edge
from openshell.cli.options import command_line_from, config_options, debug_requested

click.rich_click.USE_MARKDOWN = True
click.rich_click.SHOW_ARGUMENTS = True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="openshell-gateway", prog_name="openshell-gateway")
def cli() -> None:
    """Run the OpenShell sandbox gateway and inspect its compute drivers.

    First run, with a local Docker Engine:

        openshell-gateway run --config gateway.example.toml
    """


@cli.command()
@config_options
@click.option("--log-json", is_flag=True, help="Write logs as JSON lines.")
def run(log_json: bool, **options: Any) -> None:
    """Start the gateway: load the config, acquire the driver, serve the API.

    Runs until SIGINT or SIGTERM, then drains calls, stops sandboxes when the
    driver lets the gateway manage their lifecycle, and releases the driver.

    Example:

        openshell-gateway run --config gateway.toml --port 17670
    """
    import asyncio

    from openshell.config import load_config
    from openshell.host import PluginHost
    from openshell.logs import configure_logging
    from openshell.server import serve

    debug = debug_requested(options)
    with error_edge(debug=debug):
        config = load_config(command_line_from(options), os.environ)
        configure_logging(config.log_level.value, json=log_json)
        status = asyncio.run(serve(config, PluginHost()))
    raise SystemExit(status)


cli.add_command(drivers_group)
cli.add_command(config_group)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="openshell-gateway")
