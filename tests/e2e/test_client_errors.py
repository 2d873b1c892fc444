"""End to end: what the `openshell` client prints when things go wrong."""

from __future__ import annotations

import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.lifecycle import cli_json, wait_for
from tests.e2e.test_managed_gateway import CONFIG, driver_pids
from tests.support.gateway import GatewayProcess, free_port, run_cli
from tests.support.plugins import install_memory_driver

pytestmark = pytest.mark.slow


@pytest.fixture
def gateway(make_gateway: GatewayFactory, short_tmp: Path) -> GatewayProcess:
    site = install_memory_driver(short_tmp / "site")
    env = {"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    health = free_port()
    started = make_gateway(CONFIG, "--health-port", str(health), env=env)
    started.start()
    started.env["TEST_HEALTH_PORT"] = str(health)
    return started


def test_unknown_sandbox_is_named(gateway: GatewayProcess) -> None:
    result = gateway.cli("sandbox", "get", "nosuch")

    assert result.returncode == 1
    assert result.stderr == (
        "error: NOT_FOUND: sandbox 'nosuch' not found; `openshell sandbox list` "
        "shows the existing ones\n"
    )


def test_invalid_limit_is_usage_error(gateway: GatewayProcess) -> None:
    result = gateway.cli("sandbox", "list", "--limit", "-1")

    assert result.returncode == 2
    assert "Invalid value for '--limit': -1 is not in the range" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_gateway_named(tmp_path: Path) -> None:
    endpoint = f"127.0.0.1:{free_port()}"

    result = run_cli("openshell", "--gateway", endpoint, "sandbox", "list")

    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot reach the gateway at {endpoint}: ")
    assert "is `openshell-gateway run` running?" in result.stderr


def readyz(port: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/readyz", timeout=10
        ) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_dead_driver_is_not_blamed_on_gateway(gateway: GatewayProcess) -> None:
    created = cli_json(gateway, "sandbox", "create", "--name", "orphaned", "--wait")
    assert created["status"]["phase"] == "SANDBOX_PHASE_READY"
    assert gateway.process is not None
    [driver_pid] = driver_pids(gateway.process.pid)

    os.kill(driver_pid, signal.SIGKILL)
    wait_for(lambda: "exited unexpectedly with signal SIGKILL" in gateway.log_tail(200))

    result = gateway.cli("sandbox", "stop", "orphaned")
    assert result.returncode == 1
    assert result.stderr.startswith("error: UNAVAILABLE: stop sandbox failed: ")
    assert "cannot reach the gateway" not in result.stderr

    status, body = readyz(gateway.env["TEST_HEALTH_PORT"])
    assert status == 503
    assert body == "not ready: compute driver 'memory' exited with signal SIGKILL\n"
