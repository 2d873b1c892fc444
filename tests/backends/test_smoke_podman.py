"""Podman backend: container lifecycle and events through both of its APIs.

The Docker-compatible API is driven with docker-py, the libpod API with plain
HTTP requests. Podman 4.3 sends no ``stop`` event: a stopped container reports
``died`` (``die`` on the Docker-compatible API) and ``cleanup``.
"""

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import docker
import pytest
from docker.models.containers import Container

from tests.backends.fixtures import ContainerEngine
from tests.backends.unix_http import request, request_json

pytestmark = pytest.mark.slow

LIBPOD = "/v4.0.0/libpod"


@pytest.fixture
def client(podman_service: ContainerEngine) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=podman_service.url)
    try:
        yield client
    finally:
        client.close()


def compat_events(
    client: docker.DockerClient, container: Container, since: float
) -> list[str]:
    events = client.events(
        since=int(since),
        until=int(time.time()) + 1,
        filters={"container": container.id},
        decode=True,
    )
    return [event["Action"] for event in events if event.get("Type") == "container"]


def libpod(engine: ContainerEngine, method: str, path: str, payload: Any = None) -> Any:
    """Call the libpod API and return the decoded body; fail on an HTTP error."""
    status, body = request_json(engine.socket, method, f"{LIBPOD}{path}", payload)
    assert status < 300, f"{method} {path} returned HTTP {status}: {body}"
    return body


def libpod_events(
    engine: ContainerEngine, container_id: str, since: float
) -> list[str]:
    query = urlencode(
        {
            "stream": "false",
            "since": str(int(since)),
            "until": str(int(time.time()) + 1),
            "filters": json.dumps({"container": [container_id]}),
        }
    )
    status, raw = request(engine.socket, "GET", f"{LIBPOD}/events?{query}")
    assert status == 200, f"GET events returned HTTP {status}: {raw!r}"
    events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [event["Action"] for event in events if event["Type"] == "container"]


def test_service_runs_command_in_image(
    client: docker.DockerClient, podman_service: ContainerEngine
) -> None:
    output = client.containers.run(
        podman_service.image, ["echo", "hello from busybox"], remove=True
    )
    assert output == b"hello from busybox\n"


def test_compat_api_lifecycle_and_events(
    client: docker.DockerClient, podman_service: ContainerEngine
) -> None:
    since = time.time() - 1
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    container = client.containers.create(
        podman_service.image, ["sleep", "300"], name=name
    )
    assert container.status == "created"

    container.start()
    container.reload()
    assert container.status == "running"
    assert container.name == name
    assert container.attrs["State"]["Pid"] > 0

    container.stop(timeout=1)
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] == 137

    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(name)

    actions = compat_events(client, container, since)
    for expected in ("create", "start", "die", "remove"):
        assert expected in actions, f"no {expected!r} event in {actions}"
    assert actions.index("create") < actions.index("start") < actions.index("die")
    assert actions[-1] == "remove"


def test_libpod_api_lifecycle_and_events(podman_service: ContainerEngine) -> None:
    since = time.time() - 1
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    created = libpod(
        podman_service,
        "POST",
        "/containers/create",
        {"image": podman_service.image, "command": ["sleep", "300"], "name": name},
    )
    container_id = created["Id"]
    assert created["Warnings"] == []

    libpod(podman_service, "POST", f"/containers/{container_id}/start")
    state = libpod(podman_service, "GET", f"/containers/{container_id}/json")
    assert state["State"]["Status"] == "running"
    assert state["Name"] == name
    assert state["ImageName"] == podman_service.image
    assert state["Config"]["Cmd"] == ["sleep", "300"]

    libpod(podman_service, "POST", f"/containers/{container_id}/stop?timeout=1")
    state = libpod(podman_service, "GET", f"/containers/{container_id}/json")
    assert state["State"]["Status"] == "exited"
    assert state["State"]["ExitCode"] == 137

    removed = libpod(podman_service, "DELETE", f"/containers/{container_id}")
    assert [entry["Id"] for entry in removed] == [container_id]
    status, _ = request_json(
        podman_service.socket, "GET", f"{LIBPOD}/containers/{container_id}/json"
    )
    assert status == 404

    actions = libpod_events(podman_service, container_id, since)
    for expected in ("create", "init", "start", "died", "cleanup", "remove"):
        assert expected in actions, f"no {expected!r} event in {actions}"
    assert actions.index("create") < actions.index("start") < actions.index("died")
    assert actions[-1] == "remove"


def test_pull_fails_without_network(podman_service: ContainerEngine) -> None:
    """The service's network namespace has no route out, so a pull fails at once."""
    reference = "docker.io/openshell-test/absent:latest"
    _, body = request(
        podman_service.socket, "POST", f"{LIBPOD}/images/pull?reference={reference}"
    )
    assert b"network is unreachable" in body
