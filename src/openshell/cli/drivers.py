"""`openshell-gateway drivers list`: every discovered compute driver and its state."""

from __future__ import annotations

import json
import os
from typing import Any

import rich_click as click

from openshell.cli.options import command_line_from, config_options


@click.group("drivers")
def drivers_group() -> None:
    """Inspect installed compute driver plugins."""


def _selected_names(options: dict[str, Any]) -> tuple[set[str], str | None]:
    """Return the names the current configuration selects, or why it cannot tell."""
    from openshell.config import load_config
    from openshell.errors import ConfigError

    try:
        config = load_config(command_line_from(options), os.environ)
    except ConfigError as error:
        return set(), str(error)
    return set(config.compute_drivers.value), None


def _probe(host: Any, name: str) -> tuple[str, list[str]]:
    """Return the probe's verdict and what each candidate did."""
    from openshell.plugin import ProbeResult

    try:
        result = host.call(name, "openshell_driver_probe")
    except Exception as error:
        return f"probe failed: {type(error).__name__}: {error}", []
    if not isinstance(result, ProbeResult):
        return "-", []
    verdict = "available" if result.available else "unavailable"
    return verdict, list(result.outcomes)


def collect_rows(options: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """Load every plugin in isolation and describe each as a row."""
    from openshell.host import PluginHost

    host = PluginHost()
    entries = host.load_all()
    selected, config_problem = _selected_names(options)
    rows = []
    for entry in entries:
        description = entry.description
        probe, outcomes = (
            _probe(host, entry.name) if entry.status == "ok" else ("-", [])
        )
        rows.append(
            {
                "name": entry.name,
                "kind": entry.kind,
                "distribution": entry.distribution,
                "version": entry.version,
                "status": entry.status,
                "selected": entry.name in selected,
                "probe": probe,
                "probe_outcomes": outcomes,
                "summary": description.summary if description else "",
                "reason": entry.reason,
            }
        )
    return rows, config_problem


def _print_table(rows: list[dict[str, Any]], verbose: bool) -> None:
    """Print aligned columns with plain text; rich's console costs ~90 ms to import."""
    header = ["NAME", "KIND", "PACKAGE", "STATUS", "SELECTED", "PROBE"]
    lines = [header + (["DETAIL"] if verbose else [])]
    for row in rows:
        cells = [
            row["name"],
            row["kind"],
            f"{row['distribution']} {row['version']}",
            row["status"],
            "yes" if row["selected"] else "no",
            row["probe"],
        ]
        if verbose:
            detail = row["reason"] or row["summary"]
            if row["probe_outcomes"]:
                detail += "; probe: " + "; ".join(row["probe_outcomes"])
            cells.append(detail)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        padded = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        click.echo("  ".join(padded + line[len(header) :]).rstrip())


@drivers_group.command("list")
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--verbose", "-v", is_flag=True, help="Show failure details.")
def list_drivers(as_json: bool, verbose: bool, **options: Any) -> None:
    """List every discovered compute driver: kind, package, status, probe.

    A plugin that fails to import is shown as `error` (`--verbose` shows why);
    the others are listed as usual. Status values: ok, error, conflict,
    disabled.

    Example:

        openshell-gateway drivers list --verbose
    """
    from openshell.logs import configure_logging

    configure_logging("error")
    rows, config_problem = collect_rows(options)
    if as_json:
        click.echo(
            json.dumps({"drivers": rows, "config_error": config_problem}, indent=2)
        )
        return
    if not rows:
        click.echo(
            "no compute driver plugins installed; "
            "try: pip install openshell-driver-docker"
        )
    else:
        _print_table(rows, verbose)
    if config_problem:
        click.echo(
            f"note: cannot tell which driver is selected: {config_problem}", err=True
        )
