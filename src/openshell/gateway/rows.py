"""Store writes that retry on conflicts and notify watchers.

Every write the gateway makes goes through `SandboxRows`: a read, a change
function, and a compare-and-swap update, retried when another writer got in
between. Each successful write publishes a notice, and the time of the last
write per sandbox is kept for the reconcile loop, which skips rows written
while its sweep ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from loguru import logger

from openshell.gateway import constants as c
from openshell.gateway.errors import VersionConflictError
from openshell.gateway.notify import ChangeNotifier
from openshell.gateway.phases import apply_observation
from openshell.gateway.store import SandboxStore
from openshell.proto import compute_driver_pb2 as driver_pb
from openshell.proto import openshell_pb2 as api

Change = Callable[[api.Sandbox], api.Sandbox | None]
"""Return the new row built from a copy of the current one, or None to skip."""


class SandboxRows:
    """The store plus change notification and write bookkeeping."""

    def __init__(
        self,
        store: SandboxStore,
        notifier: ChangeNotifier,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self._clock = clock
        self._last_write: dict[str, float] = {}

    def written_since(self, sandbox_id: str, moment: float) -> bool:
        """Return whether the row was written at or after `moment` (clock time)."""
        return self._last_write.get(sandbox_id, float("-inf")) >= moment

    def now(self) -> float:
        return self._clock()

    def _written(self, sandbox_id: str) -> None:
        self._last_write[sandbox_id] = self._clock()
        self.notifier.row_changed(sandbox_id)

    async def create(self, sandbox: api.Sandbox) -> api.Sandbox:
        stored = await self.store.create(sandbox)
        self._written(stored.metadata.id)
        return stored

    async def mutate(self, sandbox_id: str, change: Change) -> api.Sandbox | None:
        """Apply `change` to the current row until the write wins.

        Returns the row as stored afterwards, unchanged when `change` returned
        None, or None when the row does not exist. Raises
        `VersionConflictError` after `MAX_WRITE_ATTEMPTS` lost races.
        """
        version = 0
        for _ in range(c.MAX_WRITE_ATTEMPTS):
            current = await self.store.get(sandbox_id)
            if current is None:
                return None
            draft = api.Sandbox()
            draft.CopyFrom(current)
            updated = change(draft)
            if updated is None or updated == current:
                return current
            version = current.metadata.resource_version
            try:
                stored = await self.store.update(updated, version)
            except VersionConflictError:
                continue
            self._written(sandbox_id)
            _log_phase_change(current, stored)
            return stored
        raise VersionConflictError(sandbox_id, version)

    async def apply_observation(
        self, observed: driver_pb.DriverSandbox
    ) -> api.Sandbox | None:
        """Merge a driver observation into the row with its ID, if stored."""
        return await self.mutate(
            observed.id, lambda row: apply_observation(row, observed)
        )

    async def restore(self, previous: api.Sandbox) -> api.Sandbox | None:
        """Write back an earlier copy of a row, keeping the current version."""

        def put_back(row: api.Sandbox) -> api.Sandbox:
            restored = api.Sandbox()
            restored.CopyFrom(previous)
            restored.metadata.resource_version = row.metadata.resource_version
            return restored

        return await self.mutate(previous.metadata.id, put_back)

    async def remove(self, sandbox_id: str) -> bool:
        """Delete the row and end its watchers; return whether it existed."""
        existed = await self.store.delete(sandbox_id)
        self._last_write.pop(sandbox_id, None)
        self.notifier.row_removed(sandbox_id)
        return existed


def _log_phase_change(before: api.Sandbox, after: api.Sandbox) -> None:
    """Log a phase transition; entering ERROR is a warning with its reason."""
    if before.status.phase == after.status.phase:
        return
    old = api.SandboxPhase.Name(before.status.phase).removeprefix("SANDBOX_PHASE_")
    new = api.SandboxPhase.Name(after.status.phase).removeprefix("SANDBOX_PHASE_")
    log = logger.bind(sandbox_id=after.metadata.id, sandbox_name=after.metadata.name)
    if after.status.phase != api.SANDBOX_PHASE_ERROR:
        log.info("sandbox phase {} -> {}", old, new)
        return
    ready = next(
        (cond for cond in after.status.conditions if cond.type == "Ready"), None
    )
    reason = f"{ready.reason}: {ready.message}" if ready else "no Ready condition"
    log.warning("sandbox phase {} -> ERROR ({})", old, reason)
