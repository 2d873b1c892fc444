"""The compute driver interface that the gateway calls for every placement.

An in-process driver implements `ComputeDriver` directly. The remote-socket
client implements it with gRPC calls to a driver process, and the driver SDK
(`openshell.sdk`) serves any implementation on a Unix socket. Methods mirror
the RPCs of `openshell.compute.v1.ComputeDriver` and take and return the
generated protobuf messages. Failures are raised as `DriverError` with the
gRPC status code of the contract (`NOT_FOUND`, `ALREADY_EXISTS`, ...).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator

from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb


class ComputeDriver(abc.ABC):
    """Async interface of one compute driver (one backend)."""

    @abc.abstractmethod
    async def get_capabilities(self) -> pb.GetCapabilitiesResponse:
        """Return the driver's name, version, default image and lifecycle flag."""

    async def get_gateway_listener_requirements(
        self,
    ) -> pb.GetGatewayListenerRequirementsResponse:
        """Return extra gateway listeners the driver's sandboxes need (none here)."""
        return pb.GetGatewayListenerRequirementsResponse()

    @abc.abstractmethod
    async def validate_sandbox_create(self, sandbox: pb.DriverSandbox) -> None:
        """Raise `DriverError` when the backend cannot run this sandbox."""

    @abc.abstractmethod
    async def create_sandbox(self, sandbox: pb.DriverSandbox) -> None:
        """Provision the sandbox; `ALREADY_EXISTS` when its ID is already known."""

    @abc.abstractmethod
    async def get_sandbox(self, sandbox_id: str, sandbox_name: str) -> pb.DriverSandbox:
        """Return the current observation of a sandbox, or raise `NOT_FOUND`."""

    @abc.abstractmethod
    async def list_sandboxes(self) -> list[pb.DriverSandbox]:
        """Return every sandbox this driver manages, stopped ones included."""

    @abc.abstractmethod
    async def stop_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        """Stop compute, keep state; return once it has stopped. Idempotent."""

    @abc.abstractmethod
    async def start_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        """Start a stopped sandbox with its retained state. Idempotent."""

    @abc.abstractmethod
    async def delete_sandbox(self, sandbox_id: str, sandbox_name: str) -> bool:
        """Remove the backend resources; return whether anything was removed."""

    @abc.abstractmethod
    def watch_sandboxes(self) -> AsyncIterator[pb.WatchSandboxesEvent]:
        """Yield a snapshot of every sandbox, then each change as it happens."""

    async def ensure_workspace(self, workspace: str) -> None:
        """Prepare per-workspace backend state; succeed when it already exists."""

    async def delete_workspace(self, workspace: str) -> None:
        """Remove per-workspace backend state."""

    async def close(self) -> None:
        """Release clients, threads and connections held by the driver."""


def require_identifier(sandbox_id: str, sandbox_name: str) -> None:
    """Raise `INVALID_ARGUMENT` when a lookup carries neither ID nor name."""
    if not sandbox_id and not sandbox_name:
        raise DriverError.invalid_argument("sandbox_id or sandbox_name is required")
