"""Run the backend commands from pytest and check what they leave behind."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.backends.cli import parse_settings
from tests.backends.paths import ROOT_ENV, tail
from tests.backends.processes import (
    is_running,
    process_group,
    processes_in_groups,
    processes_using,
)

# The directory that contains the ``tests`` package, for ``python -m``.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class StartedDaemon:
    """A daemon PID that a start printed, with its process group."""

    pid: int
    process_group: int | None


class BackendLauncher:
    """Runs ``python -m tests.backends.<module> start|stop`` under one root.

    Remembers every daemon it started, so that ``leftover_processes`` can tell
    whether a stop left any of them, or anything else naming the backend
    directory, running.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: dict[str, list[StartedDaemon]] = {}

    def directory(self, name: str) -> Path:
        return self.root / name

    def run(self, module: str, command: str) -> subprocess.CompletedProcess[str]:
        environment = dict(os.environ)
        environment[ROOT_ENV] = str(self.root)
        try:
            return subprocess.run(
                [sys.executable, "-m", f"tests.backends.{module}", command],
                cwd=SOURCE_ROOT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            pytest.fail(
                f"{module} {command} timed out after {error.timeout:.0f} s",
                pytrace=False,
            )

    def start(self, module: str, name: str, pid_key: str) -> dict[str, str]:
        """Start a backend and return its settings; fail the run if it cannot start."""
        result = self.run(module, "start")
        settings = parse_settings(result.stdout)
        if result.returncode != 0 or pid_key not in settings:
            pytest.fail(
                f"{name} backend failed to start (exit code {result.returncode})\n"
                f"{result.stderr}\n{self.log_tails(name)}",
                pytrace=False,
            )
        pid = int(settings[pid_key])
        daemon = StartedDaemon(pid, process_group(pid))
        self.started.setdefault(name, []).append(daemon)
        return settings

    def status(self, module: str) -> dict[str, str] | None:
        result = self.run(module, "status")
        return parse_settings(result.stdout) if result.returncode == 0 else None

    def stop(self, module: str, name: str) -> None:
        result = self.run(module, "stop")
        if result.returncode != 0:
            pytest.fail(
                f"{name} backend failed to stop (exit code {result.returncode})\n"
                f"{result.stderr}\n{self.log_tails(name)}",
                pytrace=False,
            )

    def log_tails(self, name: str) -> str:
        logs = sorted(self.directory(name).glob("*.log"))
        return "\n".join(f"--- end of {log} ---\n{tail(log)}" for log in logs)

    def leftover_processes(self, name: str) -> list[str]:
        """Describe each process of ``name`` that still runs after its stop."""
        daemons = self.started.get(name, [])
        pids = {daemon.pid for daemon in daemons if is_running(daemon.pid)}
        groups = {daemon.process_group for daemon in daemons if daemon.process_group}
        pids |= processes_in_groups(groups)
        pids |= processes_using(self.directory(name))
        return [f"{pid}: {_describe(pid)}" for pid in sorted(pids)]


def _describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "(exited)"
