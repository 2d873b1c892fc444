"""Finding a Docker Engine socket with a raw `/_ping`, using only the standard library.

The plugin's probe hook runs this during auto-detection, when no driver is
configured, so it must stay fast and must not import the Docker client.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Mapping
from enum import Enum

from openshell.plugin import ProbeResult

PROBE_PRIORITY = 300
"""Probe order among drivers: after Kubernetes and Podman, like upstream."""

FALLBACK_SOCKET = "/var/run/docker.sock"
"""Socket used when none is configured and no candidate responds to the ping."""

PING_TIMEOUT_SECONDS = 1.0
MAX_PING_RESPONSE_BYTES = 512
_PING_REQUEST = b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
_DOCKER_HOST_UNIX_PREFIX = "unix://"


class PingOutcome(Enum):
    """Result of pinging one candidate socket; the value is the text shown."""

    ANSWERED = "answered"
    REFUSED = "refused"
    PERMISSION_DENIED = "permission denied"
    TIMED_OUT = "timed out"
    ABSENT = "absent"
    NOT_A_SOCKET = "not a socket"
    PODMAN = "podman socket"
    NOT_DOCKER = "not a Docker API"
    FAILED = "failed"


def candidate_sockets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the socket paths to try, in order, without duplicates.

    The order is the one upstream uses: a `unix://` `DOCKER_HOST`, the system
    socket, Docker Desktop's socket under `$HOME`, then the rootless Docker
    socket `$XDG_RUNTIME_DIR/docker.sock`.
    """
    env = os.environ if environ is None else environ
    candidates: list[str] = []

    docker_host = env.get("DOCKER_HOST", "")
    if docker_host.startswith(_DOCKER_HOST_UNIX_PREFIX):
        path = docker_host[len(_DOCKER_HOST_UNIX_PREFIX) :]
        if path:
            candidates.append(path)

    candidates.append(FALLBACK_SOCKET)

    home = env.get("HOME", "")
    if home:
        candidates.append(os.path.join(home, ".docker", "run", "docker.sock"))

    runtime_dir = env.get("XDG_RUNTIME_DIR", "")
    if runtime_dir:
        candidates.append(os.path.join(runtime_dir, "docker.sock"))

    return list(dict.fromkeys(candidates))


def ping_docker(path: str, timeout: float = PING_TIMEOUT_SECONDS) -> PingOutcome:
    """Send `GET /_ping` to one socket and classify the response.

    Docker is recognised by an `Api-Version` header without a
    `Libpod-Api-Version` header, which Podman's compatible API also sends.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return PingOutcome.ABSENT
    except PermissionError:
        return PingOutcome.PERMISSION_DENIED
    except OSError:
        return PingOutcome.FAILED
    if not stat.S_ISSOCK(mode):
        return PingOutcome.NOT_A_SOCKET

    try:
        head = _exchange(path, timeout)
    except ConnectionRefusedError:
        return PingOutcome.REFUSED
    except PermissionError:
        return PingOutcome.PERMISSION_DENIED
    except TimeoutError:
        return PingOutcome.TIMED_OUT
    except OSError:
        return PingOutcome.FAILED
    return _classify(head)


def find_docker_socket(
    environ: Mapping[str, str] | None = None,
) -> tuple[str | None, list[tuple[str, PingOutcome]]]:
    """Ping the candidates in order until one responds as Docker.

    Return that socket (None when none responded) and the outcome of every
    candidate tried.
    """
    outcomes: list[tuple[str, PingOutcome]] = []
    for path in candidate_sockets(environ):
        outcome = ping_docker(path)
        outcomes.append((path, outcome))
        if outcome is PingOutcome.ANSWERED:
            return path, outcomes
    return None, outcomes


def probe_docker(environ: Mapping[str, str] | None = None) -> ProbeResult:
    """Build the auto-detection result: available when a candidate responded."""
    found, outcomes = find_docker_socket(environ)
    return ProbeResult(
        priority=PROBE_PRIORITY,
        available=found is not None,
        outcomes=tuple(f"{path}: {outcome.value}" for path, outcome in outcomes),
    )


def _exchange(path: str, timeout: float) -> bytes:
    """Return the start of the ping response: its headers, at most 512 bytes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(_PING_REQUEST)

        received = b""
        while len(received) < MAX_PING_RESPONSE_BYTES and b"\r\n\r\n" not in received:
            chunk = conn.recv(MAX_PING_RESPONSE_BYTES - len(received))
            if not chunk:
                break
            received += chunk
        return received


def _classify(head: bytes) -> PingOutcome:
    text = head.decode("latin-1")
    if not text.startswith(("HTTP/1.1 200", "HTTP/1.0 200")):
        return PingOutcome.NOT_DOCKER

    headers = text.split("\r\n\r\n", 1)[0].lower()
    if "libpod-api-version:" in headers:
        return PingOutcome.PODMAN
    if "api-version:" in headers:
        return PingOutcome.ANSWERED
    return PingOutcome.NOT_DOCKER
