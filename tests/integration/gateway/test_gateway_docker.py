"""The gateway core over the Docker driver and a real engine, through the API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from openshell.gateway import Gateway, OpenShellService, open_store
from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc
from tests.backends.fixtures import ContainerEngine
from tests.integration.docker.support import LONG_RUNNING, opened_driver
from tests.unit.gateway.gateway_harness import rpc_error, wait_for

pytestmark = pytest.mark.slow

PHASE_TIMEOUT_SECONDS = 60.0


@contextlib.asynccontextmanager
async def docker_gateway(
    tmp_path: Path, engine: ContainerEngine, namespace: str
) -> AsyncIterator[tuple[api_grpc.OpenShellStub, list[int]]]:
    """Serve a gateway over the Docker driver; yield a stub and the stop result."""
    stop_failures: list[int] = []
    async with opened_driver(engine.socket, namespace) as driver:
        store = open_store(f"sqlite:{tmp_path}/state/openshell.db")
        capabilities = await driver.get_capabilities()
        gateway = Gateway(store, driver, "docker", capabilities)
        await gateway.start()
        server = grpc.aio.server()
        api_grpc.add_OpenShellServicer_to_server(OpenShellService(gateway), server)
        socket = f"unix:{tmp_path}/gw.sock"
        server.add_insecure_port(socket)
        await server.start()
        channel = grpc.aio.insecure_channel(socket)
        try:
            yield api_grpc.OpenShellStub(channel), stop_failures
        finally:
            await channel.close()
            await server.stop(None)
            stop_failures.append(await gateway.stop())
            await store.close()


async def create(stub: api_grpc.OpenShellStub, name: str, image: str) -> api.Sandbox:
    spec = api.SandboxSpec(command=LONG_RUNNING)
    spec.template.image = image
    request = api.CreateSandboxRequest(name=name, spec=spec)
    return (await stub.CreateSandbox(request)).sandbox


async def wait_for_phase(
    stub: api_grpc.OpenShellStub, name: str, phase: int
) -> api.Sandbox:
    async def reached() -> api.Sandbox | None:
        row = (await stub.GetSandbox(api.GetSandboxRequest(name=name))).sandbox
        return row if row.status.phase == phase else None

    return await wait_for(
        reached, f"{name} to reach phase {phase}", timeout=PHASE_TIMEOUT_SECONDS
    )


async def test_create_stop_start_delete(
    tmp_path: Path, docker_engine: ContainerEngine, namespace: str
) -> None:
    async with docker_gateway(tmp_path, docker_engine, namespace) as (stub, _):
        created = await create(stub, "calm-otter", docker_engine.image)
        ready = await wait_for_phase(stub, "calm-otter", api.SANDBOX_PHASE_READY)
        stopped = (
            await stub.StopSandbox(api.StopSandboxRequest(name="calm-otter"))
        ).sandbox
        # Start at once, while the stop's snapshots may still be on their way.
        starting = (
            await stub.StartSandbox(api.StartSandboxRequest(name="calm-otter"))
        ).sandbox
        ready_again = await wait_for_phase(stub, "calm-otter", api.SANDBOX_PHASE_READY)
        deleted = (
            await stub.DeleteSandbox(api.DeleteSandboxRequest(name="calm-otter"))
        ).deleted

        async def gone() -> bool:
            error = await rpc_error(
                stub.GetSandbox(api.GetSandboxRequest(name="calm-otter"))
            )
            return error.code() == grpc.StatusCode.NOT_FOUND

        await wait_for(gone, "the sandbox to disappear", timeout=PHASE_TIMEOUT_SECONDS)

    assert created.status.phase == api.SANDBOX_PHASE_PROVISIONING
    assert ready.status.agent_pod
    assert stopped.status.phase == api.SANDBOX_PHASE_STOPPED
    assert starting.status.phase in (
        api.SANDBOX_PHASE_STARTING,
        api.SANDBOX_PHASE_READY,
    )
    assert ready_again.metadata.id == created.metadata.id
    assert deleted is True


async def test_restart_keeps_intent(
    tmp_path: Path, docker_engine: ContainerEngine, namespace: str
) -> None:
    async with docker_gateway(tmp_path, docker_engine, namespace) as (stub, first):
        await create(stub, "runs", docker_engine.image)
        await create(stub, "rests", docker_engine.image)
        await wait_for_phase(stub, "runs", api.SANDBOX_PHASE_READY)
        await wait_for_phase(stub, "rests", api.SANDBOX_PHASE_READY)
        await stub.StopSandbox(api.StopSandboxRequest(name="rests"))

    async with docker_gateway(tmp_path, docker_engine, namespace) as (stub, second):
        runs = await wait_for_phase(stub, "runs", api.SANDBOX_PHASE_READY)
        rests = (await stub.GetSandbox(api.GetSandboxRequest(name="rests"))).sandbox
        await stub.DeleteSandbox(api.DeleteSandboxRequest(name="runs"))
        await stub.DeleteSandbox(api.DeleteSandboxRequest(name="rests"))

    assert first == [0]
    assert second == [0]
    assert runs.status.phase == api.SANDBOX_PHASE_READY
    assert rests.status.phase == api.SANDBOX_PHASE_STOPPED
