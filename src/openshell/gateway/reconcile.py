"""The reconcile loop: compare the store with `ListSandboxes` periodically.

Watch streams can drop events (drivers drop them for a slow consumer), so
every interval, starting at once, the gateway re-reads the sandboxes the
driver lists and checks the stored rows the driver no longer lists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
from loguru import logger

from openshell.driver import ComputeDriver
from openshell.errors import DriverError
from openshell.gateway import constants as c
from openshell.gateway import phases
from openshell.gateway.log import sandbox_logger
from openshell.gateway.operations import as_driver_error
from openshell.gateway.rows import SandboxRows
from openshell.proto import compute_driver_pb2 as driver_pb
from openshell.proto import openshell_pb2 as api

MISSING_COMPUTE_PHASES: frozenset[phases.Phase] = frozenset(
    {phases.STOPPING, phases.STOPPED, phases.STARTING}
)
"""Phases whose vanished backend marks the row ERROR instead of deleting it."""


class Reconciler:
    """Runs reconcile sweeps at a fixed interval."""

    def __init__(
        self,
        rows: SandboxRows,
        driver: ComputeDriver,
        *,
        interval: float = c.RECONCILE_INTERVAL,
        orphan_grace_period: float = c.ORPHAN_GRACE_PERIOD,
        prune_batch: int = c.RECONCILE_PRUNE_BATCH,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._rows = rows
        self._driver = driver
        self._interval = interval
        self._grace_ms = int(orphan_grace_period * 1000)
        self._prune_batch = prune_batch
        self._wall_clock = wall_clock
        self.sweeps_finished = 0

    async def run(self) -> None:
        """Sweep now and then every interval, until cancelled."""
        while True:
            await self.sweep()
            await asyncio.sleep(self._interval)

    async def sweep(self) -> None:
        """Run one reconcile sweep; driver and store failures are logged, not raised."""
        started = self._rows.now()
        try:
            listed = await self._driver.list_sandboxes()
        except Exception as raw:
            error = as_driver_error(raw)
            logger.bind(code=error.code.name).warning(
                "reconcile: cannot list sandboxes: {}", error.message
            )
            return
        try:
            await self._refresh_listed(listed, started)
            await self._check_unlisted({sandbox.id for sandbox in listed})
        except Exception as error:
            logger.opt(exception=error).error("reconcile sweep failed: {}", error)
            return
        self.sweeps_finished += 1

    async def _refresh_listed(
        self, listed: list[driver_pb.DriverSandbox], started: float
    ) -> None:
        for observed in listed:
            row = await self._rows.store.get(observed.id)
            if row is None or self._rows.written_since(observed.id, started):
                continue
            try:
                fresh = await self._observe(row)
            except DriverError:
                # Gone since it was listed; the next sweep checks it as unlisted.
                continue
            if fresh is not None:
                await self._rows.apply_observation(fresh)

    async def _observe(self, row: api.Sandbox) -> driver_pb.DriverSandbox | None:
        """Return a fresh observation of the row's sandbox, or None on any failure.

        `NOT_FOUND` is raised as `DriverError` for the caller to act on.
        """
        sandbox_id = row.metadata.id
        try:
            observed = await self._driver.get_sandbox(sandbox_id, row.metadata.name)
        except DriverError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                raise
            sandbox_logger(row).bind(code=error.code.name).warning(
                "reconcile: cannot read sandbox: {}", error.message
            )
            return None
        except Exception as error:
            sandbox_logger(row).warning("reconcile: cannot read sandbox: {}", error)
            return None
        if observed.id != sandbox_id:
            sandbox_logger(row).bind(returned_id=observed.id).warning(
                "reconcile: driver returned another sandbox for this ID"
            )
            return None
        return observed

    async def _check_unlisted(self, listed_ids: set[str]) -> None:
        cutoff_ms = int(self._wall_clock() * 1000) - self._grace_ms
        candidates = [
            row
            for row in await self._rows.store.all()
            if row.metadata.id not in listed_ids
            and row.metadata.created_at_ms <= cutoff_ms
        ][: self._prune_batch]
        for row in candidates:
            try:
                observed = await self._observe(row)
            except DriverError:
                await self._prune(row)
                continue
            if observed is not None:
                await self._rows.apply_observation(observed)

    async def _prune(self, row: api.Sandbox) -> None:
        """Handle a row whose backend resource the driver reports as gone."""
        if row.status.phase not in MISSING_COMPUTE_PHASES:
            await self._rows.remove(row.metadata.id)
            sandbox_logger(row).info("reconcile: removed sandbox whose backend is gone")
            return

        def mark(draft: api.Sandbox) -> api.Sandbox | None:
            if draft.status.phase not in MISSING_COMPUTE_PHASES:
                return None
            phases.mark_error(
                draft,
                c.REASON_COMPUTE_RESOURCE_MISSING,
                c.MESSAGE_COMPUTE_RESOURCE_MISSING,
            )
            return draft

        await self._rows.mutate(row.metadata.id, mark)
        sandbox_logger(row).warning(
            "reconcile: stopped sandbox lost its compute resource"
        )
