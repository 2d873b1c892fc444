"""The sandbox store interface: persisted `openshell.v1.Sandbox` rows.

A store keeps each row as the serialized `Sandbox` message, so fields this
gateway does not declare (upstream's `SandboxSpec.policy`, for example)
survive unchanged, plus indexed columns for lookups: ID, workspace, name,
creation time, resource version, phase and selector labels. The stored phase
is the lifecycle intent: a `STOPPED` row stays stopped across restarts.

Every write increments `metadata.resource_version`; `update` is a
compare-and-swap on it.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Sequence

from openshell.proto import openshell_pb2 as api


class SandboxStore(abc.ABC):
    """Async access to the persisted sandbox rows.

    Methods raise `StoreError` when the backing database fails, and the
    subclasses in `openshell.gateway.errors` for conflicts.
    """

    @abc.abstractmethod
    async def create(self, sandbox: api.Sandbox) -> api.Sandbox:
        """Insert a new row with resource version 1 and return it.

        Raises `NameConflictError` when its workspace already has that name.
        """

    @abc.abstractmethod
    async def get(self, sandbox_id: str) -> api.Sandbox | None:
        """Return the row with this ID, or None."""

    @abc.abstractmethod
    async def get_by_name(self, workspace: str, name: str) -> api.Sandbox | None:
        """Return the row with this name in the workspace, or None."""

    @abc.abstractmethod
    async def list(
        self,
        workspace: str | None,
        *,
        labels: Sequence[tuple[str, str]] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[api.Sandbox]:
        """Return rows of one workspace, or of all when `workspace` is None.

        Only rows that carry every (key, value) pair of `labels` are returned. Rows are
        ordered by creation time, then name, then workspace and ID.
        """

    @abc.abstractmethod
    async def update(
        self, sandbox: api.Sandbox, expected_resource_version: int
    ) -> api.Sandbox:
        """Replace the row if it is still at the expected version; return it.

        The stored copy gets `expected_resource_version + 1`. Raises
        `VersionConflictError` when the row is at another version or gone,
        and `NameConflictError` when a renamed row collides. The ID,
        workspace and creation time of a row never change.
        """

    @abc.abstractmethod
    async def delete(self, sandbox_id: str) -> bool:
        """Remove the row; return whether it existed."""

    async def all(self) -> builtins.list[api.Sandbox]:
        """Return every row of every workspace, in list order."""
        return await self.list(None)

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the database connection."""
