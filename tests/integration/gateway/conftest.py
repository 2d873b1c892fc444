"""Fixtures for the gateway core against a real Docker engine.

`async def` tests run on a fresh event loop each.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.backends.fixtures import ContainerEngine
from tests.integration.docker.conftest import remove_namespace_containers


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
def namespace(docker_engine: ContainerEngine) -> Iterator[str]:
    """A sandbox namespace of this test only; its containers are removed after it."""
    client = docker.APIClient(base_url=docker_engine.url, version="auto")
    value = f"gw-{uuid.uuid4().hex[:12]}"
    try:
        yield value
    finally:
        remove_namespace_containers(client, value)
        client.close()
