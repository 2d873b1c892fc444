"""End to end: a managed driver program started and stopped by the gateway."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import sys
from pathlib import Path

import grpc
import pytest

from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import compute_driver_pb2_grpc as pb_grpc
from tests.e2e.conftest import GatewayFactory
from tests.e2e.lifecycle import cli_json, wait_for
from tests.support.plugins import install_memory_driver

pytestmark = pytest.mark.slow

CONFIG = '[openshell]\nversion = 1\n[openshell.gateway]\ncompute_drivers = ["memory"]\n'


def driver_pids(gateway_pid: int) -> list[int]:
    """Return the PIDs of the gateway's children that run the memory driver."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = next(
            int(line.split()[1])
            for line in status.splitlines()
            if line.startswith("PPid:")
        )
        if parent == gateway_pid and b"memdriver_program" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_managed_driver_started_and_stopped(
    make_gateway: GatewayFactory, short_tmp: Path
) -> None:
    site = install_memory_driver(short_tmp / "site")
    pythonpath = os.pathsep.join([str(site), *sys.path])
    gateway = make_gateway(CONFIG, env={"PYTHONPATH": pythonpath})
    gateway.start()
    assert gateway.process is not None
    socket_path = (
        gateway.state_home
        / "state/openshell/gateway/drivers/memory/compute-driver.sock"
    )

    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
    [driver_pid] = driver_pids(gateway.process.pid)

    info = gateway.cli("gateway", "info")
    assert info.returncode == 0, info.stderr
    assert "driver:   memory (memory 1.0)" in info.stdout

    with (
        grpc.insecure_channel(f"unix:{socket_path}") as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        pb_grpc.ComputeDriverStub(channel).GetCapabilities(
            pb.GetCapabilitiesRequest(), timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

    created = cli_json(gateway, "sandbox", "create", "--name", "mem-one", "--wait")
    assert created["status"]["phase"] == "SANDBOX_PHASE_READY"

    assert gateway.stop() == 0
    assert not socket_path.exists()
    wait_for(lambda: not Path(f"/proc/{driver_pid}").exists(), timeout=10)


def test_driver_exiting_early_fails_start(
    make_gateway: GatewayFactory, short_tmp: Path
) -> None:
    site = install_memory_driver(short_tmp / "site")
    gateway = make_gateway(
        CONFIG,
        env={
            "PYTHONPATH": os.pathsep.join([str(site), *sys.path]),
            "MEMDRIVER_EXIT_BEFORE_READY": "7",
        },
    )

    with pytest.raises(RuntimeError) as caught:
        gateway.start()

    assert gateway.process is not None
    assert gateway.process.returncode == 1
    message = str(caught.value)
    assert (
        "compute driver 'memory' exited before becoming ready with exit status 7"
        in message
    )
    assert "memdriver: backend unreachable, giving up" in message


def test_second_gateway_on_same_port_fails(
    make_gateway: GatewayFactory, short_tmp: Path
) -> None:
    site = install_memory_driver(short_tmp / "site")
    env = {"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    first = make_gateway(CONFIG, env=env)
    first.start()
    second = make_gateway(CONFIG, env=env, port=first.port)

    # Health checks on the shared port reach the first gateway, so wait for
    # the second process itself to give up.
    with contextlib.suppress(RuntimeError):
        second.start()
    assert second.process is not None
    assert second.process.wait(30) == 1
    log = second.log_tail()
    assert f"error: cannot listen on 127.0.0.1:{first.port}" in log
    assert "Traceback" not in log
    assert first.cli("gateway", "info").returncode == 0
    assert first.stop() == 0


def test_health_port_in_use_fails_cleanly(
    make_gateway: GatewayFactory, short_tmp: Path
) -> None:
    site = install_memory_driver(short_tmp / "site")
    env = {"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        health_port = taken.getsockname()[1]
        gateway = make_gateway(CONFIG, "--health-port", str(health_port), env=env)

        with pytest.raises(RuntimeError) as caught:
            gateway.start()

    message = str(caught.value)
    assert gateway.process is not None
    assert gateway.process.returncode == 1
    assert (
        f"error: cannot listen for health endpoints on 127.0.0.1:{health_port}"
        in message
    )
    assert "change it with --health-port" in message
    assert "Traceback" not in message
    assert "was never awaited" not in message


def test_second_signal_forces_exit(
    make_gateway: GatewayFactory, short_tmp: Path
) -> None:
    site = install_memory_driver(short_tmp / "site")
    env = {
        "PYTHONPATH": os.pathsep.join([str(site), *sys.path]),
        "MEMDRIVER_HANG_STOP": "1",
    }
    gateway = make_gateway(CONFIG, env=env)
    gateway.start()
    assert gateway.process is not None
    created = cli_json(gateway, "sandbox", "create", "--name", "stuck", "--wait")
    assert created["status"]["phase"] == "SANDBOX_PHASE_READY"
    [driver_pid] = driver_pids(gateway.process.pid)

    gateway.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "SIGTERM received; shutting down" in gateway.log_tail())
    assert gateway.process.poll() is None  # the sweep's StopSandbox hangs

    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(10) == 130
    assert "second SIGTERM: exiting without finishing shutdown" in gateway.log_tail()
    wait_for(lambda: not Path(f"/proc/{driver_pid}").exists(), timeout=10)
