"""End to end: `openshell-gateway run` with the Docker driver, driven by `openshell`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, BinaryIO

import docker
import pytest

from tests.e2e.conftest import GatewayFactory, docker_table
from tests.e2e.lifecycle import run_lifecycle, wait_for
from tests.support.gateway import BIN

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine_cleanup")]


def gateway_config(table_name: str, table_body: str, drivers: str = "") -> str:
    selected = f"compute_drivers = [{drivers}]\n" if drivers else ""
    return (
        "[openshell]\nversion = 1\n\n"
        f"[openshell.gateway]\n{selected}\n"
        f"[openshell.drivers.{table_name}]\n{table_body}"
    )


def test_in_process_lifecycle(
    make_gateway: GatewayFactory,
    docker_engine: Any,
    docker_client: docker.DockerClient,
    namespace: str,
) -> None:
    config = gateway_config(
        "docker", docker_table(docker_engine, namespace), '"docker"'
    )
    gateway = make_gateway(config)
    gateway.start()

    run_lifecycle(gateway, docker_client, "e2e-inproc")

    assert gateway.stop() == 0


def start_standalone_driver(
    directory: Path, engine: Any, namespace: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """Run `openshell-driver-docker` on a socket in a private directory."""
    config = directory / "docker-driver.toml"
    config.write_text(docker_table(engine, namespace))
    socket_path = directory / "run" / "driver.sock"
    with (directory / "driver.log").open("wb") as log:
        process = _spawn_driver(socket_path, config, log)
    wait_for(socket_path.exists, timeout=30)
    return process, socket_path


def _spawn_driver(
    socket_path: Path, config: Path, log: BinaryIO
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(BIN / "openshell-driver-docker"),
            "--bind-socket",
            str(socket_path),
            "--config",
            str(config),
        ],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )


def stop_standalone_driver(process: subprocess.Popen[bytes], socket_path: Path) -> None:
    process.terminate()
    assert process.wait(30) == 0
    assert not socket_path.exists()


def test_standalone_via_socket_path_table(
    make_gateway: GatewayFactory,
    docker_engine: Any,
    docker_client: docker.DockerClient,
    namespace: str,
    short_tmp: Path,
) -> None:
    process, socket_path = start_standalone_driver(short_tmp, docker_engine, namespace)
    try:
        config = gateway_config(
            "mydocker", f'socket_path = "{socket_path}"\n', '"mydocker"'
        )
        gateway = make_gateway(config)
        gateway.start()

        info = gateway.cli("gateway", "info")
        assert info.returncode == 0, info.stderr
        assert "driver:   mydocker (docker " in info.stdout

        run_lifecycle(gateway, docker_client, "e2e-table")
        assert gateway.stop() == 0
        assert process.poll() is None, "an unmanaged driver must outlive the gateway"
    finally:
        stop_standalone_driver(process, socket_path)


def test_standalone_via_launch_socket(
    make_gateway: GatewayFactory,
    docker_engine: Any,
    docker_client: docker.DockerClient,
    namespace: str,
    short_tmp: Path,
) -> None:
    process, socket_path = start_standalone_driver(short_tmp, docker_engine, namespace)
    try:
        config = gateway_config("docker", docker_table(docker_engine, namespace))
        gateway = make_gateway(
            config, "--drivers", "docker", "--compute-driver-socket", str(socket_path)
        )
        gateway.start()

        run_lifecycle(gateway, docker_client, "e2e-launch")
        assert gateway.stop() == 0
    finally:
        stop_standalone_driver(process, socket_path)


def test_gateway_recovers_after_driver_restart(
    make_gateway: GatewayFactory,
    docker_engine: Any,
    docker_client: docker.DockerClient,
    namespace: str,
    short_tmp: Path,
) -> None:
    process, socket_path = start_standalone_driver(short_tmp, docker_engine, namespace)
    config = gateway_config(
        "mydocker", f'socket_path = "{socket_path}"\n', '"mydocker"'
    )
    gateway = make_gateway(config)
    gateway.start()
    try:
        first = gateway.cli(
            "sandbox", "create", "--name", "before", "--wait", "--", "sleep", "600"
        )
        assert first.returncode == 0, first.stderr + gateway.log_tail()

        process.kill()
        process.wait()
        socket_path.unlink()
        process, socket_path = start_standalone_driver(
            short_tmp, docker_engine, namespace
        )

        # Only a re-subscribed watch stream can carry the new sandbox to READY.
        second = gateway.cli(
            "sandbox",
            "create",
            "--name",
            "after",
            "--wait",
            "--timeout",
            "60",
            "--",
            "sleep",
            "600",
        )
        assert second.returncode == 0, second.stderr + gateway.log_tail()
        assert "phase:      READY" in second.stdout
        log = gateway.log_tail(400)
        assert "sandbox watch stream failed" in log
        assert "re-subscribing to sandbox watch" in log
        assert gateway.stop() == 0
    finally:
        stop_standalone_driver(process, socket_path)
