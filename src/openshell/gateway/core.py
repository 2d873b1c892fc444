"""The gateway core: one store, one driver, and the loops that keep them in step.

Start-up order (after the caller has read the driver's capabilities and
bound its listeners): lifecycle recovery, then the start-up sweep when the
driver lets the gateway manage lifecycle, then the watch and reconcile loops
as background tasks. Shutdown (after the caller stopped serving requests):
the loops are cancelled, in-flight operations get a short time to finish,
and the shutdown sweep stops the running sandboxes of such drivers.

The gateway neither opens nor closes the store and the driver; its caller
owns both.
"""

from __future__ import annotations

import asyncio

from loguru import logger

from openshell.driver import ComputeDriver
from openshell.gateway import constants as c
from openshell.gateway.notify import ChangeNotifier
from openshell.gateway.operations import SandboxOperations
from openshell.gateway.reconcile import Reconciler
from openshell.gateway.rows import SandboxRows
from openshell.gateway.store import SandboxStore
from openshell.gateway.sweeps import recover_lifecycle, start_sweep, stop_sweep
from openshell.gateway.tasks import BackgroundTasks
from openshell.gateway.watch_loop import WatchLoop
from openshell.proto import compute_driver_pb2 as driver_pb


def shutdown_failure_message(failures: int) -> str:
    """Return the message for a shutdown sweep that could not stop everything."""
    return f"failed to stop {failures} sandbox(es) during gateway shutdown"


class Gateway:
    """Sandbox lifecycle over one compute driver, backed by one store.

    `driver_name` is the configured name (the `driver_config` key), and
    `capabilities` is the `GetCapabilities` response read once at start-up.
    The keyword arguments default to upstream's intervals; tests shorten
    them.
    """

    def __init__(
        self,
        store: SandboxStore,
        driver: ComputeDriver,
        driver_name: str,
        capabilities: driver_pb.GetCapabilitiesResponse,
        *,
        reconcile_interval: float = c.RECONCILE_INTERVAL,
        orphan_grace_period: float = c.ORPHAN_GRACE_PERIOD,
        watch_retry_initial_delay: float = c.WATCH_RETRY_INITIAL_DELAY,
        watch_retry_max_delay: float = c.WATCH_RETRY_MAX_DELAY,
        shutdown_stop_concurrency: int = c.SHUTDOWN_STOP_CONCURRENCY,
        operation_drain_timeout: float = c.OPERATION_DRAIN_TIMEOUT,
    ) -> None:
        self.store = store
        self.driver = driver
        self.driver_name = driver_name
        self.capabilities = capabilities
        self.notifier = ChangeNotifier()
        self.rows = SandboxRows(store, self.notifier)
        self.tasks = BackgroundTasks()
        self.operations = SandboxOperations(
            self.rows, driver, driver_name, capabilities, self.tasks
        )
        self.watch_loop = WatchLoop(
            self.rows,
            driver,
            initial_delay=watch_retry_initial_delay,
            max_delay=watch_retry_max_delay,
        )
        self.reconciler = Reconciler(
            self.rows,
            driver,
            interval=reconcile_interval,
            orphan_grace_period=orphan_grace_period,
        )
        self._shutdown_stop_concurrency = shutdown_stop_concurrency
        self._operation_drain_timeout = operation_drain_timeout
        self._loops: list[asyncio.Task[None]] = []
        self._log = logger.bind(driver=driver_name)

    @property
    def manages_lifecycle(self) -> bool:
        """Whether the driver asked the gateway to stop and start its sandboxes."""
        return self.capabilities.gateway_manages_lifecycle

    @property
    def running(self) -> bool:
        return bool(self._loops)

    async def start(self) -> None:
        """Recover interrupted lifecycle calls, sweep, then start the loops."""
        if self._loops:
            raise RuntimeError("the gateway is already started")
        self._log.info("gateway core starting")
        await recover_lifecycle(self.rows, self.driver)
        if self.manages_lifecycle:
            await start_sweep(self.rows, self.driver)
        self._loops = [
            asyncio.create_task(self.watch_loop.run(), name="sandbox watch loop"),
            asyncio.create_task(self.reconciler.run(), name="sandbox reconcile loop"),
        ]
        for loop in self._loops:
            loop.add_done_callback(self._loop_ended)
        self._log.bind(manages_lifecycle=self.manages_lifecycle).info(
            "gateway core started"
        )

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        self._log.bind(loop=task.get_name()).opt(exception=error).error(
            "gateway loop ended unexpectedly: {}", error
        )

    async def stop(self) -> int:
        """Cancel the loops, let operations finish, and run the shutdown sweep.

        Returns how many sandboxes the shutdown sweep failed to stop (always 0
        when the driver manages lifecycle itself). The caller exits non-zero
        with `shutdown_failure_message(n)` when it is not 0.
        """
        self._log.info("gateway core stopping")
        loops, self._loops = self._loops, []
        for loop in loops:
            loop.cancel()
        if loops:
            await asyncio.gather(*loops, return_exceptions=True)

        cancelled = await self.tasks.drain(self._operation_drain_timeout)
        if cancelled:
            self._log.bind(cancelled=cancelled).warning(
                "cancelled sandbox operations still running at shutdown"
            )

        failures = 0
        if self.manages_lifecycle:
            failures = await stop_sweep(
                self.rows, self.driver, self._shutdown_stop_concurrency
            )
        self._log.bind(stop_failures=failures).info("gateway core stopped")
        return failures
