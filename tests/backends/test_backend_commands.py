"""Backend command lines: idempotent start, status and stop."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends.cli import EXIT_STOPPED, parse_settings
from tests.backends.launcher import SOURCE_ROOT, BackendLauncher
from tests.backends.paths import ROOT_ENV

pytestmark = pytest.mark.slow

MODULES = ("docker_engine", "podman_service", "postgres_server")


def run_command(
    module: str, command: str, root: Path
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment[ROOT_ENV] = str(root)
    return subprocess.run(
        [sys.executable, "-m", f"tests.backends.{module}", command],
        cwd=SOURCE_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "fixture_name", "pid_key"),
    [
        ("docker_engine", "docker_engine", "DOCKER_PID"),
        ("podman_service", "podman_service", "PODMAN_PID"),
        ("postgres_server", "postgres_server", "POSTGRES_PID"),
    ],
)
def test_second_start_reprints_settings(
    module: str,
    fixture_name: str,
    pid_key: str,
    backend_launcher: BackendLauncher,
    request: pytest.FixtureRequest,
) -> None:
    backend = request.getfixturevalue(fixture_name)
    status = run_command(module, "status", backend_launcher.root)
    second_start = run_command(module, "start", backend_launcher.root)
    assert status.returncode == 0, status.stderr
    assert second_start.returncode == 0, second_start.stderr
    assert second_start.stdout == status.stdout
    assert int(parse_settings(second_start.stdout)[pid_key]) == backend.pid


@pytest.mark.parametrize("module", MODULES)
def test_commands_on_empty_root(module: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    stopped = run_command(module, "stop", root)
    status = run_command(module, "status", root)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == ""
    assert status.returncode == EXIT_STOPPED, status.stderr
    assert status.stdout == ""
    assert not root.exists()


def test_invalid_root_is_rejected() -> None:
    result = run_command("docker_engine", "status", Path("relative/root"))
    assert result.returncode == 1
    assert f"invalid {ROOT_ENV}" in result.stderr
