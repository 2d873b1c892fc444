"""ComputeDriver implemented by gRPC calls to a driver process on a Unix socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc
from loguru import logger

from openshell.driver import ComputeDriver
from openshell.errors import DriverError, DriverStartError
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import compute_driver_pb2_grpc as pb_grpc
from openshell.sdk.caller_auth import SECRET_METADATA_KEY

CONNECT_RETRY_SECONDS = 0.25
CONNECT_TIMEOUT_SECONDS = 30.0

T = TypeVar("T")


def _driver_error(error: grpc.aio.AioRpcError) -> DriverError:
    return DriverError(error.code(), error.details() or error.code().name.lower())


class RemoteDriver(ComputeDriver):
    """Client for `openshell.compute.v1.ComputeDriver` on `unix:PATH`.

    The channel reconnects on demand, so a driver restarted on the same path
    is picked up by later calls. No deadlines are set: a stop may take a
    minute or more. With `secret`, every call carries it as metadata.
    """

    def __init__(self, socket_path: str, *, secret: str | None = None) -> None:
        self.socket_path = socket_path
        self._channel = grpc.aio.insecure_channel(f"unix:{socket_path}")
        self._stub = pb_grpc.ComputeDriverStub(self._channel)
        self._metadata = ((SECRET_METADATA_KEY, secret),) if secret else None

    async def _unary(self, method: Callable[..., Awaitable[T]], request: object) -> T:
        try:
            return await method(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            raise _driver_error(error) from None

    async def wait_until_reachable(
        self, timeout: float = CONNECT_TIMEOUT_SECONDS
    ) -> None:
        """Call GetCapabilities every 250 ms until the socket accepts calls.

        Any status other than UNAVAILABLE counts, even an error: the startup
        sequence reports that error when it calls GetCapabilities itself.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.get_capabilities()
                return
            except DriverError as error:
                if error.code != grpc.StatusCode.UNAVAILABLE:
                    return
                last_error = error.message
            if time.monotonic() >= deadline:
                raise DriverStartError(
                    "failed to connect to remote compute driver socket "
                    f"'{self.socket_path}' within {timeout:g}s: {last_error}"
                )
            await asyncio.sleep(CONNECT_RETRY_SECONDS)

    async def get_capabilities(self) -> pb.GetCapabilitiesResponse:
        return await self._unary(
            self._stub.GetCapabilities, pb.GetCapabilitiesRequest()
        )

    async def get_gateway_listener_requirements(
        self,
    ) -> pb.GetGatewayListenerRequirementsResponse:
        return await self._unary(
            self._stub.GetGatewayListenerRequirements,
            pb.GetGatewayListenerRequirementsRequest(),
        )

    async def validate_sandbox_create(self, sandbox: pb.DriverSandbox) -> None:
        await self._unary(
            self._stub.ValidateSandboxCreate,
            pb.ValidateSandboxCreateRequest(sandbox=sandbox),
        )

    async def create_sandbox(self, sandbox: pb.DriverSandbox) -> None:
        await self._unary(
            self._stub.CreateSandbox, pb.CreateSandboxRequest(sandbox=sandbox)
        )

    async def get_sandbox(self, sandbox_id: str, sandbox_name: str) -> pb.DriverSandbox:
        response: pb.GetSandboxResponse = await self._unary(
            self._stub.GetSandbox,
            pb.GetSandboxRequest(sandbox_id=sandbox_id, sandbox_name=sandbox_name),
        )
        return response.sandbox

    async def list_sandboxes(self) -> list[pb.DriverSandbox]:
        response: pb.ListSandboxesResponse = await self._unary(
            self._stub.ListSandboxes, pb.ListSandboxesRequest()
        )
        return list(response.sandboxes)

    async def stop_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        await self._unary(
            self._stub.StopSandbox,
            pb.StopSandboxRequest(sandbox_id=sandbox_id, sandbox_name=sandbox_name),
        )

    async def start_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        await self._unary(
            self._stub.StartSandbox,
            pb.StartSandboxRequest(sandbox_id=sandbox_id, sandbox_name=sandbox_name),
        )

    async def delete_sandbox(self, sandbox_id: str, sandbox_name: str) -> bool:
        response: pb.DeleteSandboxResponse = await self._unary(
            self._stub.DeleteSandbox,
            pb.DeleteSandboxRequest(sandbox_id=sandbox_id, sandbox_name=sandbox_name),
        )
        return response.deleted

    async def watch_sandboxes(self) -> AsyncIterator[pb.WatchSandboxesEvent]:
        call = self._stub.WatchSandboxes(
            pb.WatchSandboxesRequest(), metadata=self._metadata
        )
        try:
            async for event in call:
                yield event
        except grpc.aio.AioRpcError as error:
            raise _driver_error(error) from None
        finally:
            call.cancel()

    async def ensure_workspace(self, workspace: str) -> None:
        await self._unary(
            self._stub.EnsureWorkspace, pb.EnsureWorkspaceRequest(workspace=workspace)
        )

    async def delete_workspace(self, workspace: str) -> None:
        await self._unary(
            self._stub.DeleteWorkspace, pb.DeleteWorkspaceRequest(workspace=workspace)
        )

    async def close(self) -> None:
        await self._channel.close()
        logger.debug("closed channel to compute driver socket {}", self.socket_path)
