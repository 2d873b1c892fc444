"""Acquisition: turn a resolved driver into an endpoint the gateway can call."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from loguru import logger

from openshell.driver import ComputeDriver
from openshell.endpoints.managed import ManagedProcess, start_managed_driver
from openshell.endpoints.remote import RemoteDriver
from openshell.errors import PluginError
from openshell.host import PluginHost
from openshell.plugin import DriverContext, ManagedCommand
from openshell.resolution import Resolution


@dataclass
class Endpoint:
    """A driver ready for calls plus what releasing it must undo."""

    name: str
    placement: str
    driver: ComputeDriver
    managed: ManagedProcess | None = None

    def problem(self) -> str | None:
        """Return why the driver cannot serve calls, when the gateway can tell."""
        return self.managed.problem() if self.managed is not None else None

    async def release(self) -> None:
        """Close clients; stop and reap a managed driver program."""
        if self.managed is not None:
            await self.managed.terminate()
        else:
            await self.driver.close()
        logger.info("released compute driver '{}' ({})", self.name, self.placement)


async def acquire_endpoint(
    resolution: Resolution, host: PluginHost, context: DriverContext
) -> Endpoint:
    """Build, connect to or start the driver that `resolution` describes."""
    name = resolution.name
    if resolution.placement == "remote":
        assert resolution.socket_path is not None
        remote = RemoteDriver(resolution.socket_path)
        try:
            await remote.wait_until_reachable()
        except BaseException:
            await remote.close()
            raise
        logger.info(
            "connected to compute driver '{}' at {}", name, resolution.socket_path
        )
        return Endpoint(name, "remote", remote)

    if resolution.placement == "managed":
        command = host.call(
            name, "openshell_driver_command", config=resolution.config, context=context
        )
        if not isinstance(command, ManagedCommand):
            raise PluginError(
                f"compute driver '{name}' declares a managed program but its "
                "openshell_driver_command hook returned no ManagedCommand"
            )
        managed = await start_managed_driver(name, command, context.state_dir)
        return Endpoint(name, "managed", managed.driver, managed)

    driver = host.call(
        name, "openshell_driver_create", config=resolution.config, context=context
    )
    if inspect.isawaitable(driver):
        driver = await driver
    if not isinstance(driver, ComputeDriver):
        raise PluginError(
            f"compute driver '{name}': openshell_driver_create returned "
            f"{type(driver).__name__}, not a ComputeDriver"
        )
    logger.info("created in-process compute driver '{}'", name)
    return Endpoint(name, "in-process", driver)
