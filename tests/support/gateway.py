"""Running `openshell-gateway run` in a subprocess and driving it with `openshell`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import grpc

from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc

BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_cli(
    program: str, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run an installed console script and capture its output."""
    return subprocess.run(
        [str(BIN / program), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class GatewayProcess:
    """A gateway subprocess with its own config file, state and log."""

    config_path: Path
    state_home: Path
    env: dict[str, str]
    port: int
    extra_args: tuple[str, ...] = ()
    credentials: grpc.ChannelCredentials | None = None
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.state_home / "gateway.log"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the gateway and wait until a Health call on its public API succeeds."""
        self.state_home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = self._spawn(log)
        self._wait_until_healthy()

    def _spawn(self, log: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                str(BIN / "openshell-gateway"),
                "run",
                "--config",
                str(self.config_path),
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self._healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"gateway did not answer within the deadline:\n{self.log_tail()}"
        )

    def _healthy(self) -> bool:
        channel = (
            grpc.insecure_channel(self.endpoint)
            if self.credentials is None
            else grpc.secure_channel(self.endpoint, self.credentials)
        )
        with channel:
            try:
                api_grpc.OpenShellStub(channel).Health(api.HealthRequest(), timeout=1)
            except grpc.RpcError:
                return False
        return True

    def stop(self) -> int:
        """Send SIGTERM and return the exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(
            self.log_path.read_text(errors="replace").splitlines()[-lines:]
        )

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run `openshell --gateway ENDPOINT ARGS...`."""
        return run_cli(
            "openshell",
            "--gateway",
            self.endpoint,
            *args,
            env=self.env,
            timeout=timeout,
        )

    def stub(self) -> tuple[grpc.Channel, api_grpc.OpenShellStub]:
        channel = grpc.insecure_channel(self.endpoint)
        return channel, api_grpc.OpenShellStub(channel)


def gateway_env(state_home: Path, **extra: str) -> dict[str, str]:
    """Return an environment with private XDG directories for one gateway."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSHELL_")}
    env.update(
        XDG_STATE_HOME=str(state_home / "state"),
        XDG_CONFIG_HOME=str(state_home / "config"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
