"""Managed drivers: a driver program started by the gateway on a private socket."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from openshell.endpoints.managed import start_managed_driver
from openshell.errors import DriverStartError
from openshell.plugin import ManagedCommand
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import compute_driver_pb2_grpc as pb_grpc
from tests.support.plugins import install_memory_driver


@pytest.fixture
def program_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Make the in-memory driver program importable by child processes."""
    site = install_memory_driver(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), *sys.path]))
    yield site


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A short state directory, so socket paths stay under the 107-byte limit."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="osm-") as directory:
        yield Path(directory)


COMMAND = ManagedCommand(argv=(sys.executable, "-m", "memdriver_program"))


def call_without_secret(socket_path: Path) -> grpc.StatusCode:
    with grpc.insecure_channel(f"unix:{socket_path}") as channel:
        stub = pb_grpc.ComputeDriverStub(channel)
        try:
            stub.GetCapabilities(pb.GetCapabilitiesRequest(), timeout=5)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.mark.slow
def test_managed_driver_lifecycle(program_site: Path, state_dir: Path) -> None:
    async def scenario() -> None:
        managed = await start_managed_driver("memory", COMMAND, state_dir)
        socket_path = managed.socket_path
        try:
            directory_mode = stat.S_IMODE(socket_path.parent.stat().st_mode)
            socket_mode = stat.S_IMODE(socket_path.stat().st_mode)
            assert directory_mode == 0o700
            assert socket_mode == 0o600
            assert stat.S_ISSOCK(socket_path.stat().st_mode)

            capabilities = await managed.driver.get_capabilities()
            assert capabilities.driver_name == "memory"

            code = await asyncio.to_thread(call_without_secret, socket_path)
            assert code == grpc.StatusCode.UNAUTHENTICATED
        finally:
            await managed.terminate()

        assert managed.process.returncode == 0
        assert not socket_path.exists()
        assert not socket_path.parent.exists()

    asyncio.run(scenario())


@pytest.mark.slow
def test_early_exit_reports_status_and_stderr(
    program_site: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMDRIVER_EXIT_BEFORE_READY", "3")
    started = time.monotonic()

    with pytest.raises(DriverStartError) as caught:
        asyncio.run(start_managed_driver("memory", COMMAND, state_dir))

    assert time.monotonic() - started < 5.0
    message = str(caught.value)
    assert message.startswith(
        "compute driver 'memory' exited before becoming ready with exit status 3"
    )
    assert "memdriver: backend unreachable, giving up" in message
    assert not (state_dir / "drivers" / "memory").exists()


@pytest.mark.slow
def test_missing_program_is_plugin_error(state_dir: Path) -> None:
    command = ManagedCommand(argv=("/nonexistent/openshell-driver-x",))

    with pytest.raises(DriverStartError) as caught:
        asyncio.run(start_managed_driver("x", command, state_dir))

    assert (
        "cannot start compute driver 'x' program '/nonexistent/openshell-driver-x'"
        in (str(caught.value))
    )
    assert not (state_dir / "drivers" / "x").exists()
