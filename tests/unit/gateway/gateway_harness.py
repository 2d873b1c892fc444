"""A gateway served on a Unix socket in a temporary directory, for tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from openshell.gateway import Gateway, OpenShellService, open_store
from openshell.gateway.store import SandboxStore
from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc
from tests.unit.gateway.scripted_driver import ScriptedDriver

FAST_LOOPS: dict[str, Any] = {
    "watch_retry_initial_delay": 0.05,
    "watch_retry_max_delay": 0.2,
    "reconcile_interval": 3600.0,
}
"""Short watch retries; reconcile sweeps only when a test runs one."""


@dataclass
class Harness:
    stub: api_grpc.OpenShellStub
    gateway: Gateway
    driver: ScriptedDriver
    store: SandboxStore
    stop_failures: list[int] = field(default_factory=list)

    async def create(self, name: str = "", **spec_fields: Any) -> api.Sandbox:
        request = api.CreateSandboxRequest(
            name=name, spec=api.SandboxSpec(**spec_fields)
        )
        response = await self.stub.CreateSandbox(request)
        return response.sandbox

    async def get(self, name: str) -> api.Sandbox:
        return (await self.stub.GetSandbox(api.GetSandboxRequest(name=name))).sandbox

    async def wait_for_phase(self, name: str, phase: int) -> api.Sandbox:
        async def reached() -> api.Sandbox | None:
            row = await self.store.get_by_name("default", name)
            return row if row is not None and row.status.phase == phase else None

        return await wait_for(reached, f"sandbox {name} to reach phase {phase}")


async def wait_for(
    check: Callable[[], Awaitable[Any]], what: str, timeout: float = 5.0
) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """Await a call that must fail and return its error."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded but an error status was expected")


@asynccontextmanager
async def served_gateway(
    tmp_path: Path,
    driver: ScriptedDriver | None = None,
    *,
    start: bool = True,
    store: SandboxStore | None = None,
    **options: Any,
) -> AsyncIterator[Harness]:
    """Run a gateway with its public service on `tmp_path/gw.sock`."""
    driver = driver or ScriptedDriver()
    store = store or open_store(f"sqlite:{tmp_path}/state/openshell.db")
    capabilities = await driver.get_capabilities()
    gateway = Gateway(
        store, driver, "scripted", capabilities, **{**FAST_LOOPS, **options}
    )
    if start:
        await gateway.start()
    server = grpc.aio.server()
    api_grpc.add_OpenShellServicer_to_server(OpenShellService(gateway), server)
    socket = f"unix:{tmp_path}/gw.sock"
    server.add_insecure_port(socket)
    await server.start()
    channel = grpc.aio.insecure_channel(socket)
    harness = Harness(api_grpc.OpenShellStub(channel), gateway, driver, store)
    try:
        yield harness
    finally:
        await channel.close()
        await server.stop(None)
        harness.stop_failures.append(await gateway.stop())
        await store.close()
