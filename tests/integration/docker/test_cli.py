"""The standalone `openshell-driver-docker` program, run as a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import compute_driver_pb2_grpc as pb_grpc
from tests.backends.fixtures import ContainerEngine

pytestmark = pytest.mark.slow

PROGRAM = str(Path(sys.executable).with_name("openshell-driver-docker"))
START_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def work_dir() -> Iterator[Path]:
    """A directory short enough for Unix socket paths."""
    directory = Path(tempfile.mkdtemp(prefix="osdc-", dir="/tmp"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def run_program(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OPENSHELL_")
    }
    return subprocess.run(
        [PROGRAM, *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )


def wait_for_socket(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not path.exists():
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"driver exited with {process.returncode}: {stderr}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.05)


def test_serves_capabilities_on_socket(
    docker_engine: ContainerEngine, namespace: str, work_dir: Path
) -> None:
    config = work_dir / "docker.toml"
    config.write_text(
        f'socket_path = "{docker_engine.socket}"\n'
        'network_name = "none"\n'
        f'sandbox_namespace = "{namespace}"\n'
        'default_image = "example/image:1"\n'
    )
    socket_path = work_dir / "run" / "driver.sock"
    environment = dict(os.environ)
    environment["OPENSHELL_COMPUTE_DRIVER_SOCKET"] = str(socket_path)
    environment["OPENSHELL_DOCKER_DRIVER_CONFIG"] = str(config)

    process = subprocess.Popen(
        [PROGRAM, "--log-level", "debug"],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_socket(socket_path, process)
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            stub = pb_grpc.ComputeDriverStub(channel)
            capabilities = stub.GetCapabilities(pb.GetCapabilitiesRequest(), timeout=30)
            listed = stub.ListSandboxes(pb.ListSandboxesRequest(), timeout=30)
        socket_mode = socket_path.stat().st_mode & 0o777
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)

    assert capabilities.driver_name == "docker"
    assert capabilities.default_image == "example/image:1"
    assert capabilities.gateway_manages_lifecycle is True
    assert list(listed.sandboxes) == []
    assert socket_mode == 0o600
    assert process.returncode == 0, stderr
    assert not socket_path.exists()


def test_unknown_key_exits_2(work_dir: Path) -> None:
    config = work_dir / "docker.toml"
    config.write_text('network_name = "none"\nbogus = 1\n')

    result = run_program(
        "--bind-socket", str(work_dir / "d.sock"), "--config", str(config)
    )

    assert result.returncode == 2
    assert f"{config}:2: bogus: unknown key" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (work_dir / "d.sock").exists()


def test_invalid_value_exits_2(work_dir: Path) -> None:
    config = work_dir / "docker.toml"
    config.write_text('\nimage_pull_policy = "Sometimes"\n')

    result = run_program(
        "--bind-socket", str(work_dir / "d.sock"), "--config", str(config)
    )

    assert result.returncode == 2
    assert f"{config}:2: image_pull_policy: invalid value 'Sometimes'" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_toml_exits_2(work_dir: Path) -> None:
    config = work_dir / "docker.toml"
    config.write_text("network_name = \n")

    result = run_program(
        "--bind-socket", str(work_dir / "d.sock"), "--config", str(config)
    )

    assert result.returncode == 2
    assert f"{config}: invalid TOML:" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_engine_exits_1(work_dir: Path) -> None:
    config = work_dir / "docker.toml"
    config.write_text(f'socket_path = "{work_dir}/missing.sock"\n')

    result = run_program(
        "--bind-socket", str(work_dir / "d.sock"), "--config", str(config)
    )

    assert result.returncode == 1
    assert (
        f"connect to Docker at unix://{work_dir}/missing.sock failed" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (work_dir / "d.sock").exists()


def test_gateway_bind_port_zero_rejected(work_dir: Path) -> None:
    config = work_dir / "docker.toml"
    config.write_text("")

    result = run_program(
        "--bind-socket",
        str(work_dir / "d.sock"),
        "--config",
        str(config),
        "--gateway-bind",
        "127.0.0.1:0",
    )

    assert result.returncode == 2
    assert "127.0.0.1:0" in result.stderr


def test_help_shows_example() -> None:
    result = run_program("--help")

    assert result.returncode == 0
    assert "openshell-driver-docker --bind-socket" in result.stdout
    assert "--gateway-bind" in result.stdout
