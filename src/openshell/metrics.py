"""Prometheus metrics: public API calls, driver calls, sandboxes per phase.

Served as Prometheus text on GET /metrics of `metrics_bind_address`. Public
calls are counted by a gRPC server interceptor, driver calls by a proxy
around the driver, and the per-phase gauge is read from the store on scrape.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import grpc
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from openshell.driver import ComputeDriver
from openshell.errors import DriverError
from openshell.gateway import SandboxStore
from openshell.http_endpoints import HttpResponse, Route
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import openshell_pb2 as api

if TYPE_CHECKING:
    # Generic only in the grpcio type stubs, so spelled out for the checker.
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]


T = TypeVar("T")


class GatewayMetrics:
    """The gateway's metric families, in a registry of their own."""

    def __init__(self, driver: str) -> None:
        self.driver = driver
        self.registry = CollectorRegistry()
        self.api_requests = Counter(
            "openshell_api_requests",
            "Public API calls by method, status code and driver.",
            ["method", "code", "driver"],
            registry=self.registry,
        )
        self.api_latency = Histogram(
            "openshell_api_request_duration_seconds",
            "Public API call duration by method and driver.",
            ["method", "driver"],
            registry=self.registry,
        )
        self.driver_requests = Counter(
            "openshell_driver_requests",
            "Compute driver calls by operation, status code and driver.",
            ["operation", "code", "driver"],
            registry=self.registry,
        )
        self.driver_latency = Histogram(
            "openshell_driver_request_duration_seconds",
            "Compute driver call duration by operation and driver.",
            ["operation", "driver"],
            registry=self.registry,
        )
        self.watch_restarts = Counter(
            "openshell_driver_watch_restarts",
            "Times the driver's watch stream was opened again after it ended.",
            ["driver"],
            registry=self.registry,
        )
        self.sandboxes = Gauge(
            "openshell_sandboxes",
            "Stored sandboxes by phase.",
            ["phase", "driver"],
            registry=self.registry,
        )

    def route(self, store: SandboxStore) -> Route:
        """Return the GET /metrics handler, which refreshes the phase gauge first."""

        async def metrics() -> HttpResponse:
            counts = Tally(
                api.SandboxPhase.Name(row.status.phase).removeprefix("SANDBOX_PHASE_")
                for row in await store.all()
            )
            for value in api.SandboxPhase.DESCRIPTOR.values:
                name = value.name.removeprefix("SANDBOX_PHASE_")
                self.sandboxes.labels(name, self.driver).set(counts.get(name, 0))
            body = generate_latest(self.registry)
            return HttpResponse("200 OK", body, CONTENT_TYPE_LATEST)

        return metrics


class ApiMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every public API call."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def _record(self, method: str, code: grpc.StatusCode, started: float) -> None:
        driver = self._metrics.driver
        self._metrics.api_requests.labels(method, code.name, driver).inc()
        elapsed = time.perf_counter() - started
        self._metrics.api_latency.labels(method, driver).observe(elapsed)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        options = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, handler.unary_unary), **options
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, handler.unary_stream), **options
            )
        return handler

    def _wrap_unary(self, method: str, behavior: Any) -> Any:
        async def wrapped(request: Any, context: Context) -> Any:
            started = time.perf_counter()
            try:
                response = await behavior(request, context)
            except BaseException:
                self._record(
                    method, _code_of(context, grpc.StatusCode.UNKNOWN), started
                )
                raise
            self._record(method, _code_of(context, grpc.StatusCode.OK), started)
            return response

        return wrapped

    def _wrap_stream(self, method: str, behavior: Any) -> Any:
        async def wrapped(request: Any, context: Context) -> Any:
            started = time.perf_counter()
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException:
                self._record(
                    method, _code_of(context, grpc.StatusCode.CANCELLED), started
                )
                raise
            self._record(method, _code_of(context, grpc.StatusCode.OK), started)

        return wrapped


def _code_of(context: Context, default: grpc.StatusCode) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else default


class InstrumentedDriver(ComputeDriver):
    """Forwards every call to a driver and records its outcome and duration."""

    def __init__(self, driver: ComputeDriver, metrics: GatewayMetrics) -> None:
        self._driver = driver
        self._metrics = metrics
        self._watch_opened = False

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        code = "OK"
        try:
            return await call
        except DriverError as error:
            code = error.code.name
            raise
        except BaseException:
            code = "UNKNOWN"
            raise
        finally:
            driver = self._metrics.driver
            self._metrics.driver_requests.labels(operation, code, driver).inc()
            elapsed = time.perf_counter() - started
            self._metrics.driver_latency.labels(operation, driver).observe(elapsed)

    async def get_capabilities(self) -> pb.GetCapabilitiesResponse:
        return await self._timed("GetCapabilities", self._driver.get_capabilities())

    async def get_gateway_listener_requirements(
        self,
    ) -> pb.GetGatewayListenerRequirementsResponse:
        return await self._timed(
            "GetGatewayListenerRequirements",
            self._driver.get_gateway_listener_requirements(),
        )

    async def validate_sandbox_create(self, sandbox: pb.DriverSandbox) -> None:
        await self._timed(
            "ValidateSandboxCreate", self._driver.validate_sandbox_create(sandbox)
        )

    async def create_sandbox(self, sandbox: pb.DriverSandbox) -> None:
        await self._timed("CreateSandbox", self._driver.create_sandbox(sandbox))

    async def get_sandbox(self, sandbox_id: str, sandbox_name: str) -> pb.DriverSandbox:
        return await self._timed(
            "GetSandbox", self._driver.get_sandbox(sandbox_id, sandbox_name)
        )

    async def list_sandboxes(self) -> list[pb.DriverSandbox]:
        return await self._timed("ListSandboxes", self._driver.list_sandboxes())

    async def stop_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        await self._timed(
            "StopSandbox", self._driver.stop_sandbox(sandbox_id, sandbox_name)
        )

    async def start_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        await self._timed(
            "StartSandbox", self._driver.start_sandbox(sandbox_id, sandbox_name)
        )

    async def delete_sandbox(self, sandbox_id: str, sandbox_name: str) -> bool:
        return await self._timed(
            "DeleteSandbox", self._driver.delete_sandbox(sandbox_id, sandbox_name)
        )

    async def watch_sandboxes(self) -> AsyncIterator[pb.WatchSandboxesEvent]:
        if self._watch_opened:
            self._metrics.watch_restarts.labels(self._metrics.driver).inc()
        self._watch_opened = True
        async for event in self._driver.watch_sandboxes():
            yield event

    async def ensure_workspace(self, workspace: str) -> None:
        await self._timed("EnsureWorkspace", self._driver.ensure_workspace(workspace))

    async def delete_workspace(self, workspace: str) -> None:
        await self._timed("DeleteWorkspace", self._driver.delete_workspace(workspace))

    async def close(self) -> None:
        await self._driver.close()
