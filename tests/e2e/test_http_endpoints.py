"""End to end: the health and metrics endpoints of a running gateway."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.lifecycle import cli_json
from tests.support.gateway import free_port
from tests.support.plugins import install_memory_driver

pytestmark = pytest.mark.slow


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}{path}", timeout=10
        ) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric_value(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample starting with {prefix!r}")


def test_health_and_metrics(make_gateway: GatewayFactory, short_tmp: Path) -> None:
    site = install_memory_driver(short_tmp / "site")
    health_port, metrics_port = free_port(), free_port()
    config = (
        "[openshell]\nversion = 1\n[openshell.gateway]\n"
        'compute_drivers = ["memory"]\n'
        f'health_bind_address = "127.0.0.1:{health_port}"\n'
        f'metrics_bind_address = "127.0.0.1:{metrics_port}"\n'
    )
    gateway = make_gateway(
        config, env={"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    )
    gateway.start()

    assert http_get(health_port, "/healthz") == (200, "ok\n")
    assert http_get(health_port, "/readyz") == (200, "ready\n")
    status, body = http_get(health_port, "/nope")
    assert status == 404
    assert "/healthz" in body

    created = cli_json(gateway, "sandbox", "create", "--name", "metered", "--wait")
    assert created["status"]["phase"] == "SANDBOX_PHASE_READY"

    status, metrics = http_get(metrics_port, "/metrics")
    assert status == 200
    api_creates = metric_value(
        metrics,
        'openshell_api_requests_total{code="OK",driver="memory",method="CreateSandbox"}',
    )
    assert api_creates == 1.0
    driver_creates = metric_value(
        metrics,
        'openshell_driver_requests_total{code="OK",driver="memory",operation="CreateSandbox"}',
    )
    assert driver_creates == 1.0
    assert (
        metric_value(metrics, 'openshell_sandboxes{driver="memory",phase="READY"}')
        == 1.0
    )
    assert (
        metric_value(metrics, 'openshell_sandboxes{driver="memory",phase="STOPPED"}')
        == 0.0
    )

    assert gateway.stop() == 0
