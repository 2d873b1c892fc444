"""The sandbox lifecycle driven through the `openshell` CLI, shared by several tests."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import docker

from tests.support.gateway import BIN, GatewayProcess


def cli_json(gateway: GatewayProcess, *args: str) -> dict[str, Any]:
    """Run `openshell GROUP COMMAND --json ARGS...` and parse its output."""
    result = gateway.cli(*args[:2], "--json", *args[2:])
    assert result.returncode == 0, result.stderr + gateway.log_tail()
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def container_of(client: docker.DockerClient, sandbox_id: str) -> Any:
    matches = client.containers.list(
        all=True, filters={"label": f"openshell.ai/sandbox-id={sandbox_id}"}
    )
    assert len(matches) <= 1
    return matches[0] if matches else None


def start_watch(gateway: GatewayProcess, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(BIN / "openshell"),
            "--gateway",
            gateway.endpoint,
            "sandbox",
            "watch",
            name,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=gateway.env,
    )


def phases_printed(output: str) -> list[str]:
    """Return the phase column of `openshell sandbox watch` lines."""
    return [line.split()[-1] for line in output.splitlines() if line.strip()]


def is_subsequence(expected: list[str], actual: list[str]) -> bool:
    remaining = iter(actual)
    return all(item in remaining for item in expected)


def run_lifecycle(
    gateway: GatewayProcess, client: docker.DockerClient, name: str
) -> None:
    """Create, get, list, stop, start, delete and watch one sandbox; assert each step."""
    created = cli_json(
        gateway,
        "sandbox",
        "create",
        "--name",
        name,
        "--label",
        "team=ml",
        "--",
        "sleep",
        "3600",
    )
    sandbox_id = created["metadata"]["id"]
    assert created["metadata"]["workspace"] == "default"
    assert created["status"]["phase"] == "SANDBOX_PHASE_PROVISIONING"
    watcher = start_watch(gateway, name)
    try:
        ready = gateway.cli(
            "sandbox", "watch", name, "--until", "ready", "--timeout", "60"
        )
        assert ready.returncode == 0, ready.stderr + gateway.log_tail()

        fetched = cli_json(gateway, "sandbox", "get", name)
        assert fetched["status"]["phase"] == "SANDBOX_PHASE_READY"
        assert fetched["metadata"]["labels"] == {"team": "ml"}
        assert fetched["spec"]["command"] == ["sleep", "3600"]

        selected = cli_json(gateway, "sandbox", "list", "--selector", "team=ml")
        assert [s["metadata"]["name"] for s in selected["sandboxes"]] == [name]
        unselected = cli_json(gateway, "sandbox", "list", "--selector", "team=other")
        assert unselected.get("sandboxes", []) == []

        container = container_of(client, sandbox_id)
        assert container is not None
        assert container.status == "running"

        stopped = cli_json(gateway, "sandbox", "stop", name)
        assert stopped["status"]["phase"] == "SANDBOX_PHASE_STOPPED"
        container.reload()
        assert container.status == "exited"

        started = gateway.cli("sandbox", "start", name, "--wait", "--timeout", "60")
        assert started.returncode == 0, started.stderr + gateway.log_tail()
        container.reload()
        assert container.status == "running"

        deleted = gateway.cli("sandbox", "delete", name, "--wait")
        assert deleted.returncode == 0, deleted.stderr + gateway.log_tail()
        missing = gateway.cli("sandbox", "get", name)
        assert missing.returncode == 1
        assert f"NOT_FOUND: sandbox '{name}' not found" in missing.stderr
        assert container_of(client, sandbox_id) is None

        output, _ = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    printed = phases_printed(output)
    assert is_subsequence(["READY", "STOPPED", "READY", "DELETED"], printed), output


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
    """Poll `predicate` until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:g}s")
