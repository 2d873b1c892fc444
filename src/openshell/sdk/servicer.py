"""gRPC servicer that serves any ComputeDriver as the ComputeDriver service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import grpc
from loguru import logger

from openshell.driver import ComputeDriver
from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import compute_driver_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    # Generic only in the grpcio type stubs, so spelled out for the checker.
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]


T = TypeVar("T")


async def _call(context: Context, operation: str, call: Awaitable[T]) -> T:
    """Await a driver call and turn its failure into the call's status."""
    try:
        return await call
    except DriverError as error:
        await context.abort(error.code, error.message)
    except Exception as error:
        logger.opt(exception=error).error("{} failed: {}", operation, error)
        await context.abort(grpc.StatusCode.INTERNAL, f"{operation} failed: {error}")
    raise AssertionError("unreachable: context.abort raises")


async def _require_sandbox(context: Context, has_sandbox: bool) -> None:
    if not has_sandbox:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "sandbox is required")


class DriverServicer(pb_grpc.ComputeDriverServicer):
    """Forwards each RPC to a ComputeDriver implementation."""

    def __init__(self, driver: ComputeDriver) -> None:
        self._driver = driver

    async def GetCapabilities(
        self, request: pb.GetCapabilitiesRequest, context: Context
    ) -> pb.GetCapabilitiesResponse:
        return await _call(context, "get capabilities", self._driver.get_capabilities())

    async def GetGatewayListenerRequirements(
        self,
        request: pb.GetGatewayListenerRequirementsRequest,
        context: Context,
    ) -> pb.GetGatewayListenerRequirementsResponse:
        return await _call(
            context,
            "get gateway listener requirements",
            self._driver.get_gateway_listener_requirements(),
        )

    async def ValidateSandboxCreate(
        self,
        request: pb.ValidateSandboxCreateRequest,
        context: Context,
    ) -> pb.ValidateSandboxCreateResponse:
        await _require_sandbox(context, request.HasField("sandbox"))
        await _call(
            context,
            "validate sandbox",
            self._driver.validate_sandbox_create(request.sandbox),
        )
        return pb.ValidateSandboxCreateResponse()

    async def CreateSandbox(
        self, request: pb.CreateSandboxRequest, context: Context
    ) -> pb.CreateSandboxResponse:
        await _require_sandbox(context, request.HasField("sandbox"))
        await _call(
            context, "create sandbox", self._driver.create_sandbox(request.sandbox)
        )
        return pb.CreateSandboxResponse()

    async def GetSandbox(
        self, request: pb.GetSandboxRequest, context: Context
    ) -> pb.GetSandboxResponse:
        sandbox = await _call(
            context,
            "get sandbox",
            self._driver.get_sandbox(request.sandbox_id, request.sandbox_name),
        )
        return pb.GetSandboxResponse(sandbox=sandbox)

    async def ListSandboxes(
        self, request: pb.ListSandboxesRequest, context: Context
    ) -> pb.ListSandboxesResponse:
        sandboxes = await _call(
            context, "list sandboxes", self._driver.list_sandboxes()
        )
        return pb.ListSandboxesResponse(sandboxes=sandboxes)

    async def StopSandbox(
        self, request: pb.StopSandboxRequest, context: Context
    ) -> pb.StopSandboxResponse:
        await _call(
            context,
            "stop sandbox",
            self._driver.stop_sandbox(request.sandbox_id, request.sandbox_name),
        )
        return pb.StopSandboxResponse()

    async def StartSandbox(
        self, request: pb.StartSandboxRequest, context: Context
    ) -> pb.StartSandboxResponse:
        await _call(
            context,
            "start sandbox",
            self._driver.start_sandbox(request.sandbox_id, request.sandbox_name),
        )
        return pb.StartSandboxResponse()

    async def DeleteSandbox(
        self, request: pb.DeleteSandboxRequest, context: Context
    ) -> pb.DeleteSandboxResponse:
        deleted = await _call(
            context,
            "delete sandbox",
            self._driver.delete_sandbox(request.sandbox_id, request.sandbox_name),
        )
        return pb.DeleteSandboxResponse(deleted=deleted)

    async def WatchSandboxes(
        self, request: pb.WatchSandboxesRequest, context: Context
    ) -> AsyncIterator[pb.WatchSandboxesEvent]:
        try:
            async for event in self._driver.watch_sandboxes():
                yield event
        except DriverError as error:
            await context.abort(error.code, error.message)
        except Exception as error:
            logger.opt(exception=error).error("watch sandboxes failed: {}", error)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"watch sandboxes failed: {error}"
            )

    async def EnsureWorkspace(
        self, request: pb.EnsureWorkspaceRequest, context: Context
    ) -> pb.EnsureWorkspaceResponse:
        await _call(
            context,
            "ensure workspace",
            self._driver.ensure_workspace(request.workspace),
        )
        return pb.EnsureWorkspaceResponse()

    async def DeleteWorkspace(
        self, request: pb.DeleteWorkspaceRequest, context: Context
    ) -> pb.DeleteWorkspaceResponse:
        await _call(
            context,
            "delete workspace",
            self._driver.delete_workspace(request.workspace),
        )
        return pb.DeleteWorkspaceResponse()
