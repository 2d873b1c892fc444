"""End to end: concurrent calls on one sandbox leave no orphaned backend resource."""

from __future__ import annotations

import asyncio
from typing import Any

import docker
import grpc
import pytest

from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc
from tests.e2e.conftest import GatewayFactory, docker_table
from tests.e2e.lifecycle import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine_cleanup")]

PAIRS = 5


async def create_then_delete(endpoint: str, name: str) -> None:
    """Send CreateSandbox and, 5 ms later, DeleteSandbox for the same name."""
    async with grpc.aio.insecure_channel(endpoint) as channel:
        stub = api_grpc.OpenShellStub(channel)
        spec = api.SandboxSpec(command=["sleep", "600"])
        create = asyncio.ensure_future(
            stub.CreateSandbox(
                api.CreateSandboxRequest(name=name, spec=spec), timeout=60
            )
        )
        await asyncio.sleep(0.005)
        try:
            await stub.DeleteSandbox(api.DeleteSandboxRequest(name=name), timeout=60)
        except grpc.aio.AioRpcError as error:
            # The delete may arrive before the row exists; then nothing is left.
            assert error.code() == grpc.StatusCode.NOT_FOUND
            await create
            await stub.DeleteSandbox(api.DeleteSandboxRequest(name=name), timeout=60)
        await create


def test_delete_racing_create_leaves_nothing(
    make_gateway: GatewayFactory,
    docker_engine: Any,
    docker_client: docker.DockerClient,
    namespace: str,
) -> None:
    config = (
        '[openshell]\nversion = 1\n[openshell.gateway]\ncompute_drivers = ["docker"]\n'
        f"[openshell.drivers.docker]\n{docker_table(docker_engine, namespace)}"
    )
    gateway = make_gateway(config)
    gateway.start()

    async def race_all() -> None:
        await asyncio.gather(
            *(create_then_delete(gateway.endpoint, f"race-{i}") for i in range(PAIRS))
        )

    asyncio.run(race_all())

    label = f"openshell.ai/sandbox-namespace={namespace}"

    def engine_empty() -> bool:
        return not docker_client.containers.list(all=True, filters={"label": label})

    def store_empty() -> bool:
        listed = gateway.cli("sandbox", "list", "--json")
        return listed.returncode == 0 and '"sandboxes"' not in listed.stdout

    wait_for(store_empty, timeout=60)
    wait_for(engine_empty, timeout=60)
    assert gateway.stop() == 0
