"""Plugin hooks of the Docker compute driver, the target of the `docker` entry point.

The gateway imports this module to list, check and probe drivers, so it
imports neither docker-py nor the driver itself. `openshell_driver_create`
loads them when the driver is actually used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from openshell import DriverContext, DriverDescription, ProbeResult, hookimpl
from openshell_driver_docker.probe import probe_docker
from openshell_driver_docker.settings import (
    CONFIG_DEFAULTS,
    UNUSED_KEYS,
    DockerSettings,
    validate_table,
)

if TYPE_CHECKING:
    from openshell_driver_docker.driver import DockerDriver

SUMMARY = "Docker Engine containers on a local Unix socket"


@hookimpl
def openshell_driver_describe() -> DriverDescription:
    return DriverDescription(
        summary=SUMMARY,
        kind="in-process",
        config_keys=dict(CONFIG_DEFAULTS),
        unused_keys=UNUSED_KEYS,
    )


@hookimpl
def openshell_driver_validate_config(table: Mapping[str, Any]) -> Mapping[str, Any]:
    return validate_table(table)


@hookimpl
def openshell_driver_probe() -> ProbeResult:
    return probe_docker()


@hookimpl
def openshell_driver_create(
    config: Mapping[str, Any], context: DriverContext
) -> Awaitable[DockerDriver]:
    return open_driver(DockerSettings.from_table(config))


async def open_driver(settings: DockerSettings) -> DockerDriver:
    """Build the driver and connect it to the engine; raise when the engine fails."""
    # Imported here because docker-py and its HTTP stack took 0.4 to 0.7 s to
    # import on a development machine (python -X importtime), a cost that
    # listing drivers or printing help should not pay.
    from openshell_driver_docker.driver import DockerDriver

    driver = DockerDriver(settings)
    try:
        await driver.open()
    except BaseException:
        await driver.close()
        raise
    return driver
