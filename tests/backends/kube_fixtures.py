"""Pytest plugin with the `kube_apiserver` fixture: a real Kubernetes API server.

Load it with `-p tests.backends.kube_fixtures`. The fixture runs
`python -m tests.backends.kube` (the same command a person runs by hand) to
build kube-apiserver, start it with etcd once per test run, and stop both at
the end. A backend that fails to build or start fails every test that uses
it, with the end of its log, and is never skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.backends import kube

REPO_ROOT = Path(__file__).resolve().parents[2]

# Seconds measured in this run: "build" and "cold" (build + start) when the
# binary was not cached, "warm" (start alone) when it was, "start" always.
START_TIMES: dict[str, float] = {}

_build_error: str | None = None


@dataclass(frozen=True)
class KubeApiServer:
    """A running kube-apiserver with etcd, as printed by the start command."""

    kubeconfig: Path
    url: str
    pids: dict[str, int]
    root: Path
    ca_file: Path
    token_file: Path
    env: dict[str, str]


def run_backend_command(
    *arguments: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.backends.kube", *arguments],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def parse_key_values(output: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in output.splitlines():
        key, separator, value = line.partition("=")
        if separator:
            values[key] = value
    return values


def describe_failure(step: str, result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"kube backend {step} failed with exit code {result.returncode}:\n"
        f"{result.stderr.strip()}\n{result.stdout.strip()}"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build kube-apiserver before the tests run if any collected test needs it.

    A cold build takes several minutes on 2 cores, more than a test's
    timeout, so it runs here, outside every test, with its own time limit.
    """
    global _build_error
    if session.config.option.collectonly:
        return
    if not any(
        "kube_apiserver" in getattr(item, "fixturenames", ()) for item in session.items
    ):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            "kube backend: building kube-apiserver and etcd unless cached"
            " (a cold build took 7.5 to 9 minutes on 2 cores)"
        )
    started = time.monotonic()
    try:
        result = run_backend_command("build", timeout=kube.BUILD_TIMEOUT + 60)
    except subprocess.TimeoutExpired:
        _build_error = (
            f"kube backend build timed out after {kube.BUILD_TIMEOUT + 60:.0f} s"
        )
        return
    if result.returncode != 0:
        _build_error = describe_failure("build", result)
        return
    if parse_key_values(result.stdout).get("BUILD_CACHED") == "false":
        START_TIMES["build"] = time.monotonic() - started


@pytest.fixture(scope="session")
def kube_apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeApiServer]:
    """Start etcd and kube-apiserver once per test run and stop them at the end."""
    if _build_error is not None:
        pytest.fail(_build_error, pytrace=False)

    test_root = os.environ.get("OPENSHELL_TEST_ROOT")
    root = Path(test_root) / "kube" if test_root else tmp_path_factory.mktemp("kube")
    started = time.monotonic()
    result = run_backend_command(
        "start", "--root", str(root), timeout=kube.DEFAULT_START_TIMEOUT + 120
    )
    if result.returncode != 0:
        pytest.fail(describe_failure("start", result), pytrace=False)
    START_TIMES["start"] = time.monotonic() - started
    if "build" in START_TIMES:
        START_TIMES["cold"] = START_TIMES["build"] + START_TIMES["start"]
    else:
        START_TIMES["warm"] = START_TIMES["start"]

    env = parse_key_values(result.stdout)
    server = KubeApiServer(
        kubeconfig=Path(env["KUBECONFIG"]),
        url=env["APISERVER_URL"],
        pids={
            "kube-apiserver": int(env["APISERVER_PID"]),
            "etcd": int(env["ETCD_PID"]),
        },
        root=Path(env["KUBE_ROOT"]),
        ca_file=Path(env["APISERVER_CA_FILE"]),
        token_file=Path(env["APISERVER_TOKEN_FILE"]),
        env=env,
    )
    yield server

    result = run_backend_command(
        "stop", "--root", str(root), timeout=kube.DEFAULT_STOP_TIMEOUT * 3
    )
    if result.returncode != 0:
        pytest.fail(describe_failure("stop", result), pytrace=False)
    for name, pid in server.pids.items():
        assert not kube.is_running(pid), f"{name} (pid {pid}) still running after stop"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not START_TIMES:
        return
    parts = [f"{name} {seconds:.1f} s" for name, seconds in START_TIMES.items()]
    terminalreporter.write_line("kube-apiserver backend times: " + ", ".join(parts))
