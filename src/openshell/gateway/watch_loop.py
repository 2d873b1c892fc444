"""The watch loop: one `WatchSandboxes` stream, applied event by event.

Drivers start every stream with a snapshot of each sandbox, so a new stream
after a failure repairs what the gateway missed. Between streams the loop
waits, starting at the upstream 2 s. The wait doubles, up to a cap, while
streams fail without delivering anything, and a stream that delivered events
resets it.
"""

from __future__ import annotations

import asyncio

from loguru import logger

from openshell.driver import ComputeDriver
from openshell.gateway import constants as c
from openshell.gateway.operations import as_driver_error
from openshell.gateway.rows import SandboxRows
from openshell.gateway.translate import platform_event
from openshell.proto import compute_driver_pb2 as driver_pb


class WatchLoop:
    """Keeps one watch stream open and applies its events to the store."""

    def __init__(
        self,
        rows: SandboxRows,
        driver: ComputeDriver,
        *,
        initial_delay: float = c.WATCH_RETRY_INITIAL_DELAY,
        max_delay: float = c.WATCH_RETRY_MAX_DELAY,
    ) -> None:
        self._rows = rows
        self._driver = driver
        self._initial_delay = initial_delay
        self._max_delay = max_delay
        self.streams_opened = 0

    async def run(self) -> None:
        """Subscribe, apply events, and re-subscribe after each end, until cancelled."""
        delay = self._initial_delay
        while True:
            delivered = await self._follow_one_stream()
            if delivered:
                delay = self._initial_delay
            logger.bind(retry_in_s=delay).info("re-subscribing to sandbox watch")
            await asyncio.sleep(delay)
            if not delivered:
                delay = min(delay * 2, self._max_delay)

    async def _follow_one_stream(self) -> bool:
        """Apply one stream's events; return whether it delivered any."""
        delivered = False
        self.streams_opened += 1
        try:
            async for event in self._driver.watch_sandboxes():
                delivered = True
                await self.apply(event)
        except asyncio.CancelledError:
            raise
        except Exception as raw:
            error = as_driver_error(raw)
            logger.bind(code=error.code.name).warning(
                "sandbox watch stream failed: {}", error.message
            )
            return delivered
        logger.warning("sandbox watch stream ended")
        return delivered

    async def apply(self, event: driver_pb.WatchSandboxesEvent) -> None:
        """Apply one watch event; store failures are logged, not raised."""
        kind = event.WhichOneof("payload")
        try:
            if kind == "sandbox":
                await self._rows.apply_observation(event.sandbox.sandbox)
            elif kind == "deleted":
                await self._apply_deleted(event.deleted.sandbox_id)
            elif kind == "platform_event":
                await self._apply_platform_event(event.platform_event)
        except Exception as error:
            logger.bind(event=kind).opt(exception=error).error(
                "cannot apply sandbox watch event: {}", error
            )

    async def _apply_deleted(self, sandbox_id: str) -> None:
        if await self._rows.remove(sandbox_id):
            logger.bind(sandbox_id=sandbox_id).info(
                "sandbox removed; the driver reported it deleted"
            )

    async def _apply_platform_event(
        self, event: driver_pb.WatchSandboxesPlatformEvent
    ) -> None:
        # Events of sandboxes the store does not know would only pile up.
        if await self._rows.store.get(event.sandbox_id) is None:
            return
        self._rows.notifier.platform_event(
            event.sandbox_id, platform_event(event.event)
        )
