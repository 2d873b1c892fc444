"""Docker driver against a real engine: create, stop, start, delete and lookups."""

from __future__ import annotations

import uuid

import docker
import grpc
import pytest
from loguru import logger
from openshell_driver_docker.naming import (
    MANAGED_BY_LABEL,
    SANDBOX_ID_LABEL,
    SANDBOX_NAME_LABEL,
    SANDBOX_NAMESPACE_LABEL,
    SANDBOX_WORKSPACE_LABEL,
)

from openshell.errors import DriverError
from tests.backends.fixtures import ContainerEngine
from tests.integration.docker.conftest import remove_namespace_containers
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


async def test_create_reaches_ready_through_watch(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)

        scheduled = await watch.wait_for(is_platform_event(sandbox.id, "Scheduled"))
        starting = await watch.wait_for(is_snapshot(sandbox.id, "False", "Starting"))
        created = await watch.wait_for(is_platform_event(sandbox.id, "Created"))
        started = await watch.wait_for(is_platform_event(sandbox.id, "Started"))
        ready = await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))

        assert scheduled < created < started
        assert starting < ready
        observed = watch.events[ready].sandbox.sandbox
        assert observed.name == "demo"
        assert observed.workspace == "team"
        assert observed.namespace == namespace
        assert not observed.HasField("spec")


async def test_container_name_and_labels(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(
            docker_engine.image,
            name="My Box",
            workspace="Team_A",
            labels={"app": "agent", MANAGED_BY_LABEL: "someone-else"},
        )
        await driver.create_sandbox(sandbox)
        await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))

        observed = await driver.get_sandbox(sandbox.id, "My Box")
        info = engine_client.inspect_container(observed.status.instance_id)

    assert info["Name"] == f"/openshell-team_a--my-box-{sandbox.id}"
    assert observed.status.sandbox_name == f"openshell-team_a--my-box-{sandbox.id}"
    assert observed.status.instance_id == info["Id"]
    labels = info["Config"]["Labels"]
    assert labels["app"] == "agent"
    assert labels[MANAGED_BY_LABEL] == "openshell"
    assert labels[SANDBOX_ID_LABEL] == sandbox.id
    assert labels[SANDBOX_NAME_LABEL] == "My Box"
    assert labels[SANDBOX_WORKSPACE_LABEL] == "Team_A"
    assert labels[SANDBOX_NAMESPACE_LABEL] == namespace
    assert info["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    assert info["HostConfig"]["NetworkMode"] == "none"


async def test_command_argv_is_exact(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    argv = ["/bin/echo", "two  spaces", "$HOME", "*"]
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image, command=argv)
        await driver.create_sandbox(sandbox)
        exited = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerExited")
        )
        observed = watch.events[exited].sandbox.sandbox
        info = engine_client.inspect_container(observed.status.instance_id)
        logs = engine_client.logs(info["Id"])

    assert info["Path"] == "/bin/echo"
    assert info["Args"] == argv[1:]
    assert not info["Config"]["Entrypoint"]
    assert info["Config"]["Cmd"] == argv
    assert logs == b"two  spaces $HOME *\n"
    assert observed.status.conditions[0].message == "Container exited with code 0"


async def test_exit_code_in_message(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image, command=["sh", "-c", "exit 3"])
        await driver.create_sandbox(sandbox)
        exited = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerExited")
        )

    condition = watch.events[exited].sandbox.sandbox.status.conditions[0]
    assert condition.message == "Container exited with code 3"
    assert condition.last_transition_time


async def test_empty_command_uses_image_default(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image, command=[], tty=True)
        await driver.create_sandbox(sandbox)
        ready = await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))
        container_id = watch.events[ready].sandbox.sandbox.status.instance_id
        info = engine_client.inspect_container(container_id)

    # The image's CMD is /bin/sh; with a terminal it waits for input.
    assert info["Path"] == "/bin/sh"
    assert info["Config"]["Tty"] is True
    assert info["Config"]["OpenStdin"] is True
    assert info["State"]["Running"] is True


async def test_tty_is_a_terminal(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    script = "if [ -t 1 ]; then echo terminal; else echo pipe; fi"
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        with_tty = sandbox_request(
            docker_engine.image, name="tty", command=["sh", "-c", script], tty=True
        )
        without_tty = sandbox_request(
            docker_engine.image, name="pipe", command=["sh", "-c", script]
        )
        await driver.create_sandbox(with_tty)
        await driver.create_sandbox(without_tty)
        tty_exit = await watch.wait_for(
            is_snapshot(with_tty.id, "False", "ContainerExited")
        )
        pipe_exit = await watch.wait_for(
            is_snapshot(without_tty.id, "False", "ContainerExited")
        )
        tty_logs = engine_client.logs(
            watch.events[tty_exit].sandbox.sandbox.status.instance_id
        )
        pipe_logs = engine_client.logs(
            watch.events[pipe_exit].sandbox.sandbox.status.instance_id
        )

    assert tty_logs.strip() == b"terminal"
    assert pipe_logs.strip() == b"pipe"


async def test_environment_spec_overrides_template(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(
            docker_engine.image,
            command=["sh", "-c", 'echo "$ONLY_TEMPLATE|$BOTH|$ONLY_SPEC"'],
            template_environment={"ONLY_TEMPLATE": "t", "BOTH": "template"},
            environment={"BOTH": "spec", "ONLY_SPEC": "s"},
        )
        await driver.create_sandbox(sandbox)
        exited = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerExited")
        )
        container_id = watch.events[exited].sandbox.sandbox.status.instance_id
        logs = engine_client.logs(container_id)
        environment = engine_client.inspect_container(container_id)["Config"]["Env"]

    assert logs == b"t|spec|s\n"
    assert not any("token" in entry.lower() for entry in environment)


async def test_stop_keeps_container_exited(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)
        ready = await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))

        await driver.stop_sandbox(sandbox.id, sandbox.name)
        # Stop returns once the container stopped, so no waiting is needed.
        observed = await driver.get_sandbox(sandbox.id, sandbox.name)
        info = engine_client.inspect_container(observed.status.instance_id)
        await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerExited"), after=ready
        )

    assert ready_reason(observed) == ("False", "ContainerExited")
    assert info["State"]["Status"] == "exited"
    assert info["State"]["Running"] is False


async def test_start_restarts_stopped_container(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)
        await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))
        await driver.stop_sandbox(sandbox.id, sandbox.name)
        stopped = await watch.wait_for(
            is_snapshot(sandbox.id, "False", "ContainerExited")
        )

        await driver.start_sandbox(sandbox.id, sandbox.name)
        await watch.wait_for(
            is_snapshot(sandbox.id, "True", "BackendReady"), after=stopped
        )
        observed = await driver.get_sandbox(sandbox.id, sandbox.name)
        info = engine_client.inspect_container(observed.status.instance_id)

    assert ready_reason(observed) == ("True", "BackendReady")
    assert info["State"]["Running"] is True


async def test_delete_emits_deleted(
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

        deleted = await driver.delete_sandbox(sandbox.id, sandbox.name)
        await watch.wait_for(is_deleted(sandbox.id), after=ready)

        with pytest.raises(DriverError) as lookup:
            await driver.get_sandbox(sandbox.id, sandbox.name)

    assert deleted is True
    assert lookup.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(docker.errors.NotFound):
        engine_client.inspect_container(container_id)


async def test_stop_start_delete_are_idempotent(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)
        await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))

        await driver.start_sandbox(sandbox.id, sandbox.name)
        await driver.stop_sandbox(sandbox.id, sandbox.name)
        await driver.stop_sandbox(sandbox.id, sandbox.name)
        stopped = await driver.get_sandbox(sandbox.id, sandbox.name)
        await driver.start_sandbox(sandbox.id, sandbox.name)
        await driver.start_sandbox(sandbox.id, sandbox.name)
        started = await driver.get_sandbox(sandbox.id, sandbox.name)
        first_delete = await driver.delete_sandbox(sandbox.id, sandbox.name)
        second_delete = await driver.delete_sandbox(sandbox.id, sandbox.name)

    assert ready_reason(stopped) == ("False", "ContainerExited")
    assert ready_reason(started) == ("True", "BackendReady")
    assert first_delete is True
    assert second_delete is False


async def test_unknown_sandbox_codes(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    unknown = str(uuid.uuid4())
    async with opened_driver(docker_engine.socket, namespace) as driver:
        for call in (driver.get_sandbox, driver.stop_sandbox, driver.start_sandbox):
            with pytest.raises(DriverError) as error:
                await call(unknown, "nobody")
            assert error.value.code == grpc.StatusCode.NOT_FOUND
            assert error.value.message == "sandbox not found"

        assert await driver.delete_sandbox(unknown, "nobody") is False

        for call in (driver.get_sandbox, driver.stop_sandbox, driver.start_sandbox):
            with pytest.raises(DriverError) as error:
                await call("", "")
            assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert error.value.message == "sandbox_id or sandbox_name is required"
        with pytest.raises(DriverError) as error:
            await driver.delete_sandbox("", "")
        assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_duplicate_create_already_exists(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)
        # The first create is still pending here: it returned before provisioning.
        with pytest.raises(DriverError) as while_pending:
            await driver.create_sandbox(sandbox)

        await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))
        with pytest.raises(DriverError) as with_container:
            await driver.create_sandbox(sandbox)

    assert while_pending.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert with_container.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert with_container.value.message == "sandbox already exists"


async def test_lookup_matches_every_identifier(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        recording(driver) as watch,
    ):
        sandbox = sandbox_request(docker_engine.image)
        await driver.create_sandbox(sandbox)
        await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))

        by_id = await driver.get_sandbox(sandbox.id, "")
        by_name = await driver.get_sandbox("", sandbox.name)
        for call in (driver.get_sandbox, driver.stop_sandbox, driver.start_sandbox):
            with pytest.raises(DriverError) as mismatch:
                await call(sandbox.id, "other-name")
            assert mismatch.value.code == grpc.StatusCode.NOT_FOUND
        not_deleted = await driver.delete_sandbox(str(uuid.uuid4()), sandbox.name)
        still_there = await driver.get_sandbox(sandbox.id, sandbox.name)

    assert by_id.id == sandbox.id
    assert by_name.id == sandbox.id
    assert not_deleted is False
    assert ready_reason(still_there) == ("True", "BackendReady")


async def test_list_filters_on_namespace(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    other_namespace = f"{namespace}-other"
    try:
        async with (
            opened_driver(docker_engine.socket, namespace) as driver,
            opened_driver(docker_engine.socket, other_namespace) as other_driver,
            recording(driver) as watch,
            recording(other_driver) as other_watch,
        ):
            mine = sandbox_request(docker_engine.image, name="mine")
            theirs = sandbox_request(docker_engine.image, name="theirs")
            await driver.create_sandbox(mine)
            await other_driver.create_sandbox(theirs)
            await watch.wait_for(is_snapshot(mine.id, "True", "BackendReady"))
            await other_watch.wait_for(is_snapshot(theirs.id, "True", "BackendReady"))

            listed = await driver.list_sandboxes()
            with pytest.raises(DriverError) as lookup:
                await driver.get_sandbox(theirs.id, "")
            deleted = await driver.delete_sandbox(theirs.id, "")
            seen_by_mine = {event.sandbox.sandbox.id for event in watch.events}
    finally:
        remove_namespace_containers(engine_client, other_namespace)

    assert [sandbox.id for sandbox in listed] == [mine.id]
    assert lookup.value.code == grpc.StatusCode.NOT_FOUND
    assert deleted is False
    assert theirs.id not in seen_by_mine


async def test_resource_limits_applied(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with (
        opened_driver(docker_engine.socket, namespace) as driver,
        opened_driver(
            docker_engine.socket, namespace, sandbox_pids_limit=0
        ) as default_pids_driver,
        recording(driver) as watch,
    ):
        limited = sandbox_request(docker_engine.image, name="limited")
        limited.spec.template.resources.cpu_limit = "500m"
        limited.spec.template.resources.memory_limit = "64Mi"
        unlimited = sandbox_request(docker_engine.image, name="unlimited")
        await driver.create_sandbox(limited)
        await default_pids_driver.create_sandbox(unlimited)
        await watch.wait_for(is_snapshot(limited.id, "True", "BackendReady"))
        await watch.wait_for(is_snapshot(unlimited.id, "True", "BackendReady"))
        limited_host = engine_client.inspect_container(
            (await driver.get_sandbox(limited.id, "")).status.instance_id
        )["HostConfig"]
        unlimited_host = engine_client.inspect_container(
            (await driver.get_sandbox(unlimited.id, "")).status.instance_id
        )["HostConfig"]

    assert limited_host["NanoCpus"] == 500_000_000
    assert limited_host["Memory"] == 64 * 1024 * 1024
    assert limited_host["PidsLimit"] == 2048
    assert not unlimited_host["NanoCpus"]
    assert not unlimited_host["Memory"]
    assert not unlimited_host["PidsLimit"]


async def test_capabilities(
    docker_engine: ContainerEngine, namespace: str, engine_client: docker.APIClient
) -> None:
    async with opened_driver(
        docker_engine.socket, namespace, default_image="example/image:1"
    ) as driver:
        capabilities = await driver.get_capabilities()

    assert capabilities.driver_name == "docker"
    assert capabilities.driver_version == engine_client.version()["Version"]
    assert capabilities.default_image == "example/image:1"
    assert capabilities.gateway_manages_lifecycle is True


async def test_token_never_logged(
    docker_engine: ContainerEngine, namespace: str
) -> None:
    records: list[str] = []
    sink = logger.add(
        lambda message: records.append(str(message.record)), level="TRACE"
    )
    try:
        async with (
            opened_driver(docker_engine.socket, namespace) as driver,
            recording(driver) as watch,
        ):
            sandbox = sandbox_request(docker_engine.image)
            await driver.create_sandbox(sandbox)
            await watch.wait_for(is_snapshot(sandbox.id, "True", "BackendReady"))
            await driver.delete_sandbox(sandbox.id, sandbox.name)
    finally:
        logger.remove(sink)

    assert any(sandbox.id in record for record in records)
    assert not any(sandbox.spec.sandbox_token in record for record in records)
