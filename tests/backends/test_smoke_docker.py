"""Docker Engine backend: container lifecycle and events through docker-py."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from tests.backends.fixtures import ContainerEngine

pytestmark = pytest.mark.slow


@pytest.fixture
def client(docker_engine: ContainerEngine) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=docker_engine.url)
    try:
        yield client
    finally:
        client.close()


def container_events(
    client: docker.DockerClient, container: Container, since: float
) -> list[str]:
    """Return the actions of the container's events from ``since`` until now."""
    events = client.events(
        since=int(since),
        until=int(time.time()) + 1,
        filters={"container": container.id},
        decode=True,
    )
    return [event["Action"] for event in events if event.get("Type") == "container"]


def test_engine_runs_command_in_image(
    client: docker.DockerClient, docker_engine: ContainerEngine
) -> None:
    output = client.containers.run(
        docker_engine.image, ["echo", "hello from busybox"], remove=True
    )
    assert output == b"hello from busybox\n"


def test_container_lifecycle_and_events(
    client: docker.DockerClient, docker_engine: ContainerEngine
) -> None:
    since = time.time() - 1
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    container = client.containers.create(
        docker_engine.image, ["sleep", "300"], name=name
    )
    assert container.status == "created"

    container.start()
    container.reload()
    assert container.status == "running"
    assert container.attrs["Name"] == f"/{name}"
    assert container.attrs["Config"]["Image"] == docker_engine.image
    assert container.attrs["State"]["Pid"] > 0

    # busybox sleep runs as PID 1 and ignores SIGTERM, so stop ends in SIGKILL.
    container.stop(timeout=1)
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 137

    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(name)

    actions = container_events(client, container, since)
    for expected in ("create", "start", "die", "stop", "destroy"):
        assert expected in actions, f"no {expected!r} event in {actions}"
    assert actions.index("create") < actions.index("start") < actions.index("die")
    assert actions[-1] == "destroy"


def test_bridge_network_stays_off_host(client: docker.DockerClient) -> None:
    """dockerd runs in its own network namespace, so its bridges are not on the host."""
    network = client.networks.create(f"smoke-{uuid.uuid4().hex[:8]}", driver="bridge")
    try:
        assert network.id is not None
        bridge = f"br-{network.id[:12]}"
        assert not Path(f"/sys/class/net/{bridge}").exists()
    finally:
        network.remove()


def test_pull_fails_without_network(client: docker.DockerClient) -> None:
    """dockerd's network namespace has no route out, so a pull fails at once."""
    with pytest.raises(docker.errors.APIError, match="network is unreachable"):
        client.images.pull("openshell-test/absent", tag="latest")
