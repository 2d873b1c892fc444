"""End to end: sandboxes and their intent across gateway restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from tests.e2e.conftest import GatewayFactory, docker_table
from tests.e2e.lifecycle import cli_json, container_of, wait_for
from tests.support.gateway import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine_cleanup")]


def create_ready(gateway: GatewayProcess, name: str) -> str:
    created = cli_json(
        gateway, "sandbox", "create", "--name", name, "--wait", "--", "sleep", "3600"
    )
    assert created["status"]["phase"] == "SANDBOX_PHASE_READY"
    sandbox_id: str = created["metadata"]["id"]
    return sandbox_id


def phase_of(gateway: GatewayProcess, name: str) -> str:
    phase: str = cli_json(gateway, "sandbox", "get", name)["status"]["phase"]
    return phase


def test_restart_keeps_intent_and_sweeps(
    make_gateway: GatewayFactory,
    docker_engine: Any,
    docker_client: docker.DockerClient,
    namespace: str,
    short_tmp: Path,
) -> None:
    config = (
        '[openshell]\nversion = 1\n[openshell.gateway]\ncompute_drivers = ["docker"]\n'
        f"[openshell.drivers.docker]\n{docker_table(docker_engine, namespace)}"
    )
    home = short_tmp / "home"
    first = make_gateway(config, home=home)
    first.start()

    running_id = create_ready(first, "keep-running")
    stopped_id = create_ready(first, "user-stopped")
    vanished_id = create_ready(first, "vanished-down")
    behind_id = create_ready(first, "vanished-up")
    assert cli_json(first, "sandbox", "stop", "user-stopped")["status"]["phase"] == (
        "SANDBOX_PHASE_STOPPED"
    )

    # Removed behind the gateway's back while it runs: the engine's destroy
    # event reaches the gateway through the driver's watch stream.
    container_of(docker_client, behind_id).remove(force=True)
    wait_for(lambda: first.cli("sandbox", "get", "vanished-up").returncode == 1)

    assert first.stop() == 0
    # The shutdown sweep stopped the running sandbox without recording it.
    assert container_of(docker_client, running_id).status == "exited"
    assert container_of(docker_client, stopped_id).status == "exited"

    # Removed while the gateway is down: the start-up sweep finds it missing.
    container_of(docker_client, vanished_id).remove(force=True)

    second = make_gateway(config, home=home)
    second.start()

    wait_for(lambda: phase_of(second, "keep-running") == "SANDBOX_PHASE_READY")
    assert container_of(docker_client, running_id).status == "running"

    assert phase_of(second, "user-stopped") == "SANDBOX_PHASE_STOPPED"
    assert container_of(docker_client, stopped_id).status == "exited"

    missing = cli_json(second, "sandbox", "get", "vanished-down")
    assert missing["status"]["phase"] == "SANDBOX_PHASE_ERROR"
    reasons = [c.get("reason") for c in missing["status"].get("conditions", [])]
    assert "BackendResourceMissing" in reasons

    assert second.stop() == 0
