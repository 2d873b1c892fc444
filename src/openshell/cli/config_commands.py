"""`openshell-gateway config check | show`."""

from __future__ import annotations

import json
import os
from typing import Any

import rich_click as click

from openshell.cli.edge import error_edge
from openshell.cli.options import command_line_from, config_options, debug_requested


@click.group("config")
def config_group() -> None:
    """Check the gateway configuration or show its effective values."""


def _validate_all_tables(config: Any, host: Any) -> list[str]:
    """Validate every driver table whose owning plugin is installed."""
    from openshell.config import prepare_driver_table
    from openshell.names import RESERVED_DRIVERS
    from openshell.resolution import validate_driver_table

    checked = []
    for name in sorted(config.driver_tables):
        entry = host.load(name)
        if entry is None or entry.status != "ok" or entry.description is None:
            continue
        table, warnings = prepare_driver_table(
            config,
            name,
            config_keys=entry.description.config_keys,
            unused_keys=entry.description.unused_keys,
            reserved=name in RESERVED_DRIVERS,
        )
        validate_driver_table(config, host, name, table)
        checked.append(name)
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
    return checked


@config_group.command("check")
@config_options
@click.option(
    "--all",
    "check_all",
    is_flag=True,
    help="Also validate the tables of drivers that are not selected.",
)
def check(check_all: bool, **options: Any) -> None:
    """Run every check that `run` makes before it listens, then exit.

    Loads and validates the file, flags and variables, selects and resolves
    the driver and validates its table, without starting or connecting to a
    driver. Exits 2 at the first error.

    Example:

        openshell-gateway config check --config gateway.toml
    """
    from openshell.config import load_config
    from openshell.gateway import check_store_url
    from openshell.host import PluginHost
    from openshell.listener import server_credentials
    from openshell.logs import configure_logging
    from openshell.resolution import resolve_driver

    configure_logging("error")
    with error_edge(debug=debug_requested(options)):
        config = load_config(command_line_from(options), os.environ)
        host = PluginHost()
        resolution = resolve_driver(config, host)
        server_credentials(config)
        check_store_url(config.database_url.value)
        for warning in (*config.warnings, *resolution.warnings):
            click.echo(f"warning: {warning}", err=True)
        if check_all:
            _validate_all_tables(config, host)
    where = f" at {resolution.socket_path}" if resolution.socket_path else ""
    source = config.path or "no config file"
    click.echo(
        f"configuration OK ({source}): compute driver '{resolution.name}' "
        f"{resolution.placement}{where}, {resolution.reason}"
    )


@config_group.command("show")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show(as_json: bool, **options: Any) -> None:
    """Print each effective setting with the source it came from.

    Sources are a flag, an OPENSHELL_* variable, a line of the file, or the
    built-in default. The database URL's password is masked.

    Example:

        OPENSHELL_SERVER_PORT=18000 openshell-gateway config show
    """
    from openshell.config import load_config
    from openshell.logs import configure_logging

    configure_logging("error")
    with error_edge(debug=debug_requested(options)):
        config = load_config(command_line_from(options), os.environ)
    rows = [
        {"key": key, "value": setting.value, "source": str(setting.source)}
        for key, setting in config.settings()
    ]
    for name, table in sorted(config.driver_tables.items()):
        for key, value in table.values.items():
            line = table.line_of(key)
            where = f"{table.path}:{line}" if table.path and line else "file"
            rows.append(
                {"key": f"drivers.{name}.{key}", "value": value, "source": where}
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    width = max((len(row["key"]) for row in rows), default=0)
    for row in rows:
        value = row["value"]
        rendered = json.dumps(
            list(value) if isinstance(value, tuple) else value, default=str
        )
        click.echo(f"{row['key']:<{width}}  {rendered}  ({row['source']})")
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
