"""The public `openshell.v1.OpenShell` service over a `Gateway`.

Handlers turn requests into gateway calls and `ApiError` into the call
status. `ExecSandbox` is not overridden, so grpcio returns `UNIMPLEMENTED`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import grpc
from loguru import logger

import openshell
from openshell.errors import StoreError
from openshell.gateway import constants as c
from openshell.gateway import phases
from openshell.gateway.core import Gateway
from openshell.gateway.errors import ApiError, VersionConflictError
from openshell.gateway.labels import parse_label_selector
from openshell.gateway.notify import NoticeKind, SubscriberLagged, Subscription
from openshell.gateway.validation import resolve_workspace
from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc

T = TypeVar("T")

if TYPE_CHECKING:
    # Generic only in the grpcio type stubs, so spelled out for the checker.
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


async def _answer(context: Context, rpc: str, call: Callable[[], Awaitable[T]]) -> T:
    """Await a handler body and turn its failure into the call status."""
    try:
        return await call()
    except ApiError as error:
        await context.abort(error.code, error.message)
    except VersionConflictError as error:
        await context.abort(grpc.StatusCode.ABORTED, f"{error}")
    except StoreError as error:
        logger.bind(rpc=rpc).error("store failure: {}", error)
        await context.abort(grpc.StatusCode.INTERNAL, f"{rpc} failed: {error}")
    raise AssertionError("unreachable: context.abort raises")


class OpenShellService(api_grpc.OpenShellServicer):
    """Serves the sandbox subset of the public API from one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._operations = gateway.operations

    async def Health(
        self, request: api.HealthRequest, context: Context
    ) -> api.HealthResponse:
        return api.HealthResponse(
            status=api.SERVICE_STATUS_HEALTHY, version=openshell.__version__
        )

    async def GetGatewayInfo(
        self, request: api.GetGatewayInfoRequest, context: Context
    ) -> api.GetGatewayInfoResponse:
        capabilities = self._gateway.capabilities
        return api.GetGatewayInfoResponse(
            status=api.SERVICE_STATUS_HEALTHY,
            gateway_version=openshell.__version__,
            compute_drivers=[
                api.ComputeDriverInfo(
                    name=self._gateway.driver_name,
                    capabilities=api.ComputeDriverCapabilities(
                        driver_name=capabilities.driver_name,
                        driver_version=capabilities.driver_version,
                    ),
                )
            ],
        )

    async def CreateSandbox(
        self, request: api.CreateSandboxRequest, context: Context
    ) -> api.SandboxResponse:
        async def create() -> api.SandboxResponse:
            return api.SandboxResponse(sandbox=await self._operations.create(request))

        return await _answer(context, "create sandbox", create)

    async def GetSandbox(
        self, request: api.GetSandboxRequest, context: Context
    ) -> api.SandboxResponse:
        async def get() -> api.SandboxResponse:
            row = await self._operations.find(request.name, request.workspace)
            return api.SandboxResponse(sandbox=row)

        return await _answer(context, "get sandbox", get)

    async def ListSandboxes(
        self, request: api.ListSandboxesRequest, context: Context
    ) -> api.ListSandboxesResponse:
        async def list_rows() -> api.ListSandboxesResponse:
            if request.all_workspaces and request.workspace:
                raise ApiError.invalid_argument(
                    "all_workspaces and workspace are mutually exclusive"
                )
            limit = min(request.limit or c.DEFAULT_PAGE_SIZE, c.MAX_PAGE_SIZE)
            workspace = (
                None if request.all_workspaces else resolve_workspace(request.workspace)
            )
            labels = parse_label_selector(request.label_selector)
            rows = await self._gateway.store.list(
                workspace, labels=labels, limit=limit, offset=request.offset
            )
            return api.ListSandboxesResponse(sandboxes=rows)

        return await _answer(context, "list sandboxes", list_rows)

    async def DeleteSandbox(
        self, request: api.DeleteSandboxRequest, context: Context
    ) -> api.DeleteSandboxResponse:
        async def delete() -> api.DeleteSandboxResponse:
            deleted = await self._operations.delete(request.name, request.workspace)
            return api.DeleteSandboxResponse(deleted=deleted)

        return await _answer(context, "delete sandbox", delete)

    async def StopSandbox(
        self, request: api.StopSandboxRequest, context: Context
    ) -> api.SandboxResponse:
        async def stop() -> api.SandboxResponse:
            row = await self._operations.stop(request.name, request.workspace)
            return api.SandboxResponse(sandbox=row)

        return await _answer(context, "stop sandbox", stop)

    async def StartSandbox(
        self, request: api.StartSandboxRequest, context: Context
    ) -> api.SandboxResponse:
        async def start() -> api.SandboxResponse:
            row = await self._operations.start(request.name, request.workspace)
            return api.SandboxResponse(sandbox=row)

        return await _answer(context, "start sandbox", start)

    async def WatchSandbox(
        self, request: api.WatchSandboxRequest, context: Context
    ) -> AsyncIterator[api.SandboxStreamEvent]:
        if not request.id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "id is required")
        notifier = self._gateway.notifier
        # Subscribe before the first read so no change falls between the two.
        subscription = notifier.subscribe(request.id)
        try:
            async for message in self._watch(request, subscription, context):
                yield message
        finally:
            notifier.unsubscribe(subscription)

    async def _watch(
        self,
        request: api.WatchSandboxRequest,
        subscription: Subscription,
        context: Context,
    ) -> AsyncIterator[api.SandboxStreamEvent]:
        store = self._gateway.store
        try:
            row = await store.get(request.id)
        except StoreError as error:
            await context.abort(grpc.StatusCode.INTERNAL, f"{error}")
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "sandbox not found")
        assert row is not None

        yield api.SandboxStreamEvent(sandbox=row)
        if request.stop_on_terminal and row.status.phase == phases.READY:
            return
        # No sandbox log source exists here: with follow_logs there is nothing
        # to replay, and no live log line ever arrives.
        if request.follow_events:
            for event in self._gateway.notifier.recent_events(
                request.id, request.event_tail
            ):
                yield api.SandboxStreamEvent(event=event)
        if not (request.follow_status or request.follow_events or request.follow_logs):
            await asyncio.Event().wait()

        last_version = row.metadata.resource_version
        while True:
            try:
                notice = await subscription.next()
            except SubscriberLagged as lagged:
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{lagged}")
            if notice.kind is NoticeKind.ROW_REMOVED:
                return
            if notice.kind is NoticeKind.PLATFORM_EVENT:
                if request.follow_events and notice.event is not None:
                    yield api.SandboxStreamEvent(event=notice.event)
                continue
            if not request.follow_status:
                continue
            try:
                current = await store.get(request.id)
            except StoreError as error:
                await context.abort(grpc.StatusCode.INTERNAL, f"{error}")
            if current is None:
                return
            if current.metadata.resource_version == last_version:
                continue
            last_version = current.metadata.resource_version
            yield api.SandboxStreamEvent(sandbox=current)
            if request.stop_on_terminal and current.status.phase == phases.READY:
                return

    async def ExecSandbox(
        self, request: api.ExecSandboxRequest, context: Context
    ) -> AsyncIterator[api.ExecSandboxEvent]:
        # Upstream runs commands through the in-sandbox supervisor, which this
        # gateway does not have, so the message names that reason instead of
        # a bare "Method not implemented".
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "ExecSandbox is not supported by this gateway: it has no in-sandbox "
            "supervisor to run commands through",
        )
        yield api.ExecSandboxEvent()  # unreachable: abort raises
