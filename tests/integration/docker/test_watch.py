"""Docker driver watch streams and background provisioning against a real engine."""

from __future__ import annotations

import docker
import grpc
import pytest

from openshell.errors import DriverError
from tests.backends.fixtures import ContainerEngine
from tests.integration.docker.conftest import PrivateEngine
from tests.integration.docker.support import (
    is_deleted,
    is_platform_event,
    is_snapshot,
    opened_driver,
    ready_reason,
    recording,
    sandbox_request,
)

pytestmark = pytest.mark.slow


async def test_watch_starts_with_existing_sandboxes(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with opened_driver(docker_engine.socket, namespace) as driver:
        async with recording(driver) as first_watch:
            running = sandbox_request(docker_engine.image, name="running")
            exited = sandbox_request(
                docker_engine.image, name="exited", command=["true"]
            )
            await driver.create_sandbox(running)
            await driver.create_sandbox(exited)
            await first_watch.wait_for(is_snapshot(running.id, "True", "BackendReady"))
            await first_watch.wait_for(
                is_snapshot(exited.id, "False", "ContainerExited")
            )

        async with recording(driver) as second_watch:
            await second_watch.wait_for(is_snapshot(running.id, "True", "BackendReady"))
            await second_watch.wait_for(
                is_snapshot(exited.id, "False", "ContainerExited")
            )
            initial = second_watch.events[:2]

    assert {event.sandbox.sandbox.id for event in initial} == {running.id, exited.id}


async def test_removed_container_gives_deleted(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)
        ready = await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))

        container_id = watch.events[ready].sandbox.sandbox.status.instance_id
        engine_client.remove_container(container_id, force=True)
        await watch.wait_for(is_deleted(sandbox.id), after=ready)

        with pytest.raises(DriverError) as lookup:
            await driver.get_sandbox(sandbox.id, "")

    assert lookup.value.code == grpc.StatusCode.NOT_FOUND


async def test_container_start_failure_reported(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image, command=["/no/such/program"])
        await driver.create_sandbox(sandbox)
        failed = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerStartFailed")
        )
        await watch.wait_for(is_platform_event(sandbox.id, "ContainerStartFailed"))

        observed = await driver.get_sandbox(sandbox.id, sandbox.name)
        listed = await driver.list_sandboxes()
        containers = engine_client.containers(
            all=True, filters={"label": f"openshell.ai/sandbox-id={sandbox.id}"}
        )
        deleted = await driver.delete_sandbox(sandbox.id, sandbox.name)
        await watch.wait_for(is_deleted(sandbox.id), after=failed)
        after_delete = await driver.list_sandboxes()

    assert ready_reason(observed) == ("False", "ContainerStartFailed")
    assert "/no/such/program" in observed.status.conditions[0].message
    assert [sandbox.id for sandbox in listed] == [sandbox.id]
    assert containers == []
    assert deleted is True
    assert after_delete == []


async def test_container_create_failure_reported(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        # Docker rejects memory limits below 6 MB when it creates the container.
        sandbox.spec.template.resources.memory_limit = "1Mi"
        await driver.create_sandbox(sandbox)
        failed = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerCreateFailed")
        )

    message = watch.events[failed].sandbox.sandbox.status.conditions[0].message
    assert message.startswith("create docker sandbox container failed:")


async def test_image_pull_failure_reported(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    """A pull that fails is reported as ImagePullFailed.

    No registry is reachable from the tests, so a successful pull is never
    tested. This image names a registry on a closed loopback port: the engine
    fails to connect at once and nothing leaves the machine.
    """
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request("127.0.0.1:1/openshell-test/absent:latest")
        await driver.create_sandbox(sandbox)
        await watch.wait_for(is_platform_event(sandbox.id, "Pulling"))
        failed = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ImagePullFailed")
        )

        # Stopping a create that has not produced a container cancels it.
        await driver.stop_sandbox(sandbox.id, sandbox.name)
        await watch.wait_for(is_deleted(sandbox.id), after=failed)
        with pytest.raises(DriverError) as lookup:
            await driver.get_sandbox(sandbox.id, sandbox.name)

    message = watch.events[failed].sandbox.sandbox.status.conditions[0].message
    assert "127.0.0.1:1" in message
    assert lookup.value.code == grpc.StatusCode.NOT_FOUND


async def test_never_policy_needs_local_image(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with opened_driver(
        docker_engine.socket, namespace, image_pull_policy="never"
    ) as driver:
        missing = sandbox_request("openshell-test/absent:latest")
        with pytest.raises(DriverError) as error:
            await driver.create_sandbox(missing)
        listed = await driver.list_sandboxes()

    assert error.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.value.message == (
        "docker image 'openshell-test/absent:latest' is not present locally and "
        "image_pull_policy is Never"
    )
    assert listed == []


async def test_resync_after_engine_restart(
    private_engine: PrivateEngine, namespace: str
) -> None:
    engine = private_engine.engine
    assert engine is not None
    async with (
        opened_driver(engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        first = sandbox_request(engine.image, name="first")
        second = sandbox_request(engine.image, name="second")
        await driver.create_sandbox(first)
        await driver.create_sandbox(second)
        await watch.wait_for(is_snapshot(first.id, "True", "BackendReady"))
        ready = await watch.wait_for(is_snapshot(second.id, "True", "BackendReady"))

        # A restart keeps the containers, stopped.
        private_engine.stop()
        private_engine.start()
        await watch.wait_for(
            is_snapshot(first.id, "False", "ContainerExited"), after=ready
        )
        restarted = await driver.get_sandbox(second.id, "")

        # An engine that comes back without them makes them vanish; only the
        # resync after reconnecting can notice that, as no event reports it.
        private_engine.stop()
        private_engine.wipe()
        private_engine.start()
        await watch.wait_for(is_deleted(first.id), after=ready)
        await watch.wait_for(is_deleted(second.id), after=ready)

        third = sandbox_request(engine.image, name="third")
        await driver.create_sandbox(third)
        await watch.wait_for(is_snapshot(third.id, "True", "BackendReady"))
        listed = await driver.list_sandboxes()

    assert ready_reason(restarted) == ("False", "ContainerExited")
    assert [sandbox.id for sandbox in listed] == [third.id]
