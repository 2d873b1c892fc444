"""Fixtures for end-to-end tests: gateways in subprocesses on a real engine."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.support.gateway import GatewayProcess, free_port, gateway_env

GatewayFactory = Callable[..., GatewayProcess]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path, for Unix sockets."""
    with tempfile.TemporaryDirectory(prefix="ose-") as directory:
        yield Path(directory)


@pytest.fixture
def namespace() -> str:
    """A sandbox namespace label unique to one test, so tests never share containers."""
    return f"e2e-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def docker_client(docker_engine: Any) -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=docker_engine.url)
    yield client
    client.close()


@pytest.fixture
def engine_cleanup(
    docker_client: docker.DockerClient, namespace: str
) -> Iterator[None]:
    """Remove every container of this test's namespace, also when it fails."""
    yield
    label = f"openshell.ai/sandbox-namespace={namespace}"
    for container in docker_client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)


def docker_table(engine: Any, namespace: str) -> str:
    """Return a [openshell.drivers.docker]-style table body for the test engine."""
    return (
        f'socket_path = "{engine.socket}"\n'
        f'sandbox_namespace = "{namespace}"\n'
        f'default_image = "{engine.image}"\n'
        'image_pull_policy = "Never"\n'
        'network_name = "none"\n'
    )


@pytest.fixture
def make_gateway(short_tmp: Path, engine_cleanup: None) -> Iterator[GatewayFactory]:
    """Build gateways from config text; each one is stopped after the test."""
    started: list[GatewayProcess] = []

    def build(
        config_text: str,
        *extra_args: str,
        home: Path | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> GatewayProcess:
        home = home or short_tmp / f"gw{len(started)}"
        home.mkdir(parents=True, exist_ok=True)
        config_path = home / "gateway.toml"
        config_path.write_text(config_text)
        gateway = GatewayProcess(
            config_path=config_path,
            state_home=home,
            env=gateway_env(home, **(env or {})),
            port=port or free_port(),
            extra_args=extra_args,
        )
        started.append(gateway)
        return gateway

    yield build
    for gateway in started:
        gateway.stop()
