"""`openshell-gateway run`: wire configuration, driver, store and the public API."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

import grpc
from loguru import logger

from openshell import __version__
from openshell.config import GatewayConfig
from openshell.endpoints.acquire import Endpoint, acquire_endpoint
from openshell.errors import DriverError, DriverStartError, OpenShellError
from openshell.gateway import (
    Gateway,
    OpenShellService,
    SandboxStore,
    open_store,
    shutdown_failure_message,
)
from openshell.host import PluginHost
from openshell.http_endpoints import HttpEndpoints, ReadinessCheck, health_routes
from openshell.listener import listener_address, server_credentials
from openshell.metrics import ApiMetricsInterceptor, GatewayMetrics, InstrumentedDriver
from openshell.plugin import DriverContext
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import openshell_pb2_grpc
from openshell.resolution import Resolution, resolve_driver

DRAIN_GRACE_SECONDS = 5.0
SHUTDOWN_SWEEP_TIMEOUT_SECONDS = 300.0
"""Maximum wait for the shutdown sweep's StopSandbox calls (16 run at once)."""

EXIT_FORCED = 130
"""Exit status after a second SIGINT or SIGTERM cut the shutdown short."""

_READINESS_PROBE_ID = "00000000-0000-0000-0000-000000000000"
"""How long in-flight public calls may finish once shutdown begins."""


@dataclass
class _Started:
    endpoint: Endpoint
    store: SandboxStore
    gateway: Gateway
    server: grpc.aio.Server
    http: list[HttpEndpoints]


async def _snapshot_capabilities(endpoint: Endpoint) -> pb.GetCapabilitiesResponse:
    try:
        capabilities = await endpoint.driver.get_capabilities()
    except DriverError as error:
        raise DriverStartError(
            f"compute driver '{endpoint.name}' failed GetCapabilities: "
            f"{error.code.name}: {error.message}"
        ) from None
    logger.bind(driver=endpoint.name).info(
        "compute driver '{}' is {} {} (gateway_manages_lifecycle={})",
        endpoint.name,
        capabilities.driver_name or "(unnamed)",
        capabilities.driver_version or "(no version)",
        capabilities.gateway_manages_lifecycle,
    )
    return capabilities


async def _log_listener_requirements(endpoint: Endpoint) -> None:
    try:
        response = await endpoint.driver.get_gateway_listener_requirements()
    except DriverError as error:
        if error.code == grpc.StatusCode.UNIMPLEMENTED:
            logger.debug("driver has no GetGatewayListenerRequirements; assuming none")
            return
        raise DriverStartError(
            f"compute driver '{endpoint.name}' failed GetGatewayListenerRequirements: "
            f"{error.code.name}: {error.message}"
        ) from None
    for requirement in response.requirements:
        # Extra listeners serve only in-sandbox supervisor callbacks, which this
        # gateway does not have, so requirements are logged and nothing is bound.
        logger.info(
            "driver asks for a {} listener ({}); not bound: no in-sandbox supervisor",
            requirement.WhichOneof("selector"),
            requirement.reason,
        )


def _readiness_check(store: SandboxStore, endpoint: Endpoint) -> ReadinessCheck:
    """Return the /readyz check: the driver is up and a read from the store succeeds.

    The check only runs once the driver is acquired and the API listens.
    """

    async def check() -> str | None:
        problem = endpoint.problem()
        if problem is not None:
            return problem
        try:
            await store.get(_READINESS_PROBE_ID)
        except Exception as error:
            return f"sandbox store unreachable: {error}"
        return None

    return check


async def _start(
    config: GatewayConfig, host: PluginHost, resolution: Resolution
) -> _Started:
    credentials = server_credentials(config)
    store = open_store(config.database_url.value)
    _, port = config.bind_address.value
    context = DriverContext(
        name=resolution.name,
        state_dir=config.state_dir,
        log_level=config.log_level.value,
        gateway_port=port,
    )
    try:
        endpoint = await acquire_endpoint(resolution, host, context)
    except BaseException:
        await store.close()
        raise

    server: grpc.aio.Server | None = None
    http: list[HttpEndpoints] = []
    try:
        capabilities = await _snapshot_capabilities(endpoint)
        await _log_listener_requirements(endpoint)

        metrics = GatewayMetrics(resolution.name)
        driver = InstrumentedDriver(endpoint.driver, metrics)
        gateway = Gateway(store, driver, resolution.name, capabilities)
        server = await _start_api_server(config, gateway, metrics, credentials)
        http = _http_endpoints(config, store, endpoint, metrics)
        for endpoints in http:
            await endpoints.start()
        await gateway.start()
    except BaseException:
        for endpoints in http:
            await endpoints.stop()
        if server is not None:
            await server.stop(None)
        await endpoint.release()
        await store.close()
        raise
    return _Started(endpoint, store, gateway, server, http)


async def _start_api_server(
    config: GatewayConfig,
    gateway: Gateway,
    metrics: GatewayMetrics,
    credentials: grpc.ServerCredentials | None,
) -> grpc.aio.Server:
    server = grpc.aio.server(
        interceptors=[ApiMetricsInterceptor(metrics)],
        # grpcio enables SO_REUSEPORT by default, which let a second gateway
        # bind the same port and take half of the calls.
        options=[("grpc.so_reuseport", 0)],
    )
    openshell_pb2_grpc.add_OpenShellServicer_to_server(
        OpenShellService(gateway), server
    )
    address = listener_address(config)
    try:
        if credentials is None:
            server.add_insecure_port(address)
        else:
            server.add_secure_port(address, credentials)
    except RuntimeError as error:
        raise OpenShellError(
            f"cannot listen on {address} ({config.bind_address.source}): {error}; "
            "is another gateway running there? Choose another port with --port "
            "or OPENSHELL_SERVER_PORT"
        ) from None
    await server.start()
    logger.info(
        "public API listening on {} ({})",
        address,
        "plaintext" if credentials is None else "TLS",
    )
    return server


def _http_endpoints(
    config: GatewayConfig,
    store: SandboxStore,
    endpoint: Endpoint,
    metrics: GatewayMetrics,
) -> list[HttpEndpoints]:
    http = []
    if config.health_bind_address.value is not None:
        ip, port = config.health_bind_address.value
        routes = health_routes(_readiness_check(store, endpoint))
        where = f"{config.health_bind_address.source}; change it with --health-port"
        http.append(HttpEndpoints("health endpoints", ip, port, routes, where))
    if config.metrics_bind_address.value is not None:
        ip, port = config.metrics_bind_address.value
        routes = {"/metrics": metrics.route(store)}
        where = f"{config.metrics_bind_address.source}; change it with --metrics-port"
        http.append(HttpEndpoints("metrics", ip, port, routes, where))
    return http


async def _stop(started: _Started) -> int:
    """Drain, sweep, release; return the exit status."""
    logger.info("shutting down: draining public calls")
    for endpoints in started.http:
        await endpoints.stop()
    await started.server.stop(DRAIN_GRACE_SECONDS)
    try:
        failures = await asyncio.wait_for(
            started.gateway.stop(), SHUTDOWN_SWEEP_TIMEOUT_SECONDS
        )
    except TimeoutError:
        logger.error(
            "the shutdown sweep did not finish within {:g}s; exiting without "
            "waiting for the remaining stops",
            SHUTDOWN_SWEEP_TIMEOUT_SECONDS,
        )
        failures = 1
    await started.endpoint.release()
    await started.store.close()
    if failures:
        logger.error(shutdown_failure_message(failures))
        return 1
    logger.info("gateway stopped")
    return 0


async def serve(config: GatewayConfig, host: PluginHost) -> int:
    """Run the gateway until SIGINT or SIGTERM; return the exit status."""
    resolution = resolve_driver(config, host)
    for warning in (*config.warnings, *resolution.warnings):
        logger.warning(warning)
    logger.info(
        "compute driver '{}' {} ({})",
        resolution.name,
        resolution.placement,
        resolution.reason,
    )

    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if not stop.is_set():
            logger.info("{} received; shutting down", signal.Signals(signum).name)
            stop.set()
            return
        # A second signal means the operator does not want to wait for the
        # shutdown sweep; a managed driver dies with us (parent-death signal).
        logger.error(
            "second {}: exiting without finishing shutdown", signal.Signals(signum).name
        )
        os._exit(EXIT_FORCED)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    started = await _start(config, host, resolution)
    logger.info("gateway {} ready", __version__)
    await stop.wait()
    return await _stop(started)
