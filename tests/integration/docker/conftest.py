"""Fixtures for the Docker driver tests: a namespace per test, cleaned up after it.

`async def` tests run on a fresh event loop each.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from openshell_driver_docker.naming import SANDBOX_NAMESPACE_LABEL

from tests.backends import images
from tests.backends.fixtures import ContainerEngine
from tests.backends.images import SandboxImage
from tests.backends.launcher import BackendLauncher


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    arguments: dict[str, Any] = {
        name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames
    }
    asyncio.run(function(**arguments))
    return True


@pytest.fixture
def engine_client(docker_engine: ContainerEngine) -> Iterator[docker.APIClient]:
    """A client of the test engine, for checks behind the driver's back."""
    client = docker.APIClient(base_url=docker_engine.url, version="auto")
    try:
        yield client
    finally:
        client.close()


def remove_namespace_containers(client: docker.APIClient, namespace: str) -> None:
    label = f"{SANDBOX_NAMESPACE_LABEL}={namespace}"
    for summary in client.containers(all=True, filters={"label": label}):
        client.remove_container(summary["Id"], force=True)


@pytest.fixture
def namespace(engine_client: docker.APIClient) -> Iterator[str]:
    """A sandbox namespace of this test only; its containers are removed after it."""
    value = f"test-{uuid.uuid4().hex[:12]}"
    try:
        yield value
    finally:
        remove_namespace_containers(engine_client, value)


@dataclass
class PrivateEngine:
    """A Docker Engine of one test alone, which the test may stop and restart."""

    launcher: BackendLauncher
    root: Path
    image_source: SandboxImage
    engine: ContainerEngine | None = None

    def start(self) -> ContainerEngine:
        settings = self.launcher.start("docker_engine", "docker", "DOCKER_PID")
        url = settings["DOCKER_HOST"]
        self.engine = ContainerEngine(
            socket=Path(settings["DOCKER_SOCKET"]),
            url=url,
            image=images.import_into_docker(url, self.image_source),
            pid=int(settings["DOCKER_PID"]),
        )
        return self.engine

    def stop(self) -> None:
        """Kill the containers and stop the engine; its data stays for a restart."""
        self.launcher.stop("docker_engine", "docker")

    def wipe(self) -> None:
        """Delete the stopped engine's data, so the next start has no containers."""
        shutil.rmtree(self.launcher.directory("docker") / "data")


@pytest.fixture
def private_engine(sandbox_oci_image: SandboxImage) -> Iterator[PrivateEngine]:
    root = Path(tempfile.mkdtemp(prefix="osdk-", dir="/tmp"))
    private = PrivateEngine(BackendLauncher(root), root, sandbox_oci_image)
    try:
        private.start()
        yield private
    finally:
        private.stop()
        leftovers = private.launcher.leftover_processes("docker")
        assert not leftovers, f"private docker engine left processes: {leftovers}"
        shutil.rmtree(root)
