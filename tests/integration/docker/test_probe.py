"""Docker socket auto-detection: the raw `/_ping` against real and fake sockets."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from openshell_driver_docker.plugin import openshell_driver_probe
from openshell_driver_docker.probe import (
    FALLBACK_SOCKET,
    PROBE_PRIORITY,
    PingOutcome,
    candidate_sockets,
    find_docker_socket,
    ping_docker,
    probe_docker,
)

from tests.backends.fixtures import ContainerEngine

PODMAN_PING_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n"
    b"Content-Length: 2\r\n\r\nOK"
)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory short enough for Unix socket paths."""
    directory = Path(tempfile.mkdtemp(prefix="osdp-", dir="/tmp"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def serve_once(path: Path, response: bytes) -> threading.Thread:
    """Send `response` to the first client that connects to `path`, in a thread."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(response)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_real_engine_answers(docker_engine: ContainerEngine) -> None:
    assert ping_docker(str(docker_engine.socket)) is PingOutcome.ANSWERED


@pytest.mark.slow
def test_probe_finds_docker_host(docker_engine: ContainerEngine) -> None:
    environment = {"DOCKER_HOST": docker_engine.url}

    found, outcomes = find_docker_socket(environment)
    result = probe_docker(environment)

    assert found == str(docker_engine.socket)
    assert outcomes == [(str(docker_engine.socket), PingOutcome.ANSWERED)]
    assert result.available is True
    assert result.priority == PROBE_PRIORITY
    assert result.outcomes == (f"{docker_engine.socket}: answered",)


def test_absent_and_regular_file(short_dir: Path) -> None:
    regular = short_dir / "file.sock"
    regular.write_text("not a socket")

    assert ping_docker(str(short_dir / "missing.sock")) is PingOutcome.ABSENT
    assert ping_docker(str(regular)) is PingOutcome.NOT_A_SOCKET


def test_dead_socket_refused(short_dir: Path) -> None:
    path = short_dir / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bound:
        bound.bind(str(path))
    # The file stays after the socket closed, but nothing listens on it.

    assert ping_docker(str(path)) is PingOutcome.REFUSED


def test_silent_socket_times_out(short_dir: Path) -> None:
    path = short_dir / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listening:
        listening.bind(str(path))
        listening.listen(1)

        assert ping_docker(str(path), timeout=0.2) is PingOutcome.TIMED_OUT


def test_podman_socket_is_not_docker(short_dir: Path) -> None:
    path = short_dir / "podman.sock"
    thread = serve_once(path, PODMAN_PING_RESPONSE)

    assert ping_docker(str(path)) is PingOutcome.PODMAN
    thread.join(5)


def test_other_http_server_is_not_docker(short_dir: Path) -> None:
    path = short_dir / "other.sock"
    thread = serve_once(path, b"HTTP/1.1 200 OK\r\nServer: other\r\n\r\n")

    assert ping_docker(str(path)) is PingOutcome.NOT_DOCKER
    thread.join(5)


def test_candidates_in_upstream_order() -> None:
    environment = {
        "DOCKER_HOST": "unix:///custom/docker.sock",
        "HOME": "/home/user",
        "XDG_RUNTIME_DIR": "/run/user/1000",
    }

    assert candidate_sockets(environment) == [
        "/custom/docker.sock",
        FALLBACK_SOCKET,
        "/home/user/.docker/run/docker.sock",
        "/run/user/1000/docker.sock",
    ]


def test_candidates_skip_other_docker_hosts() -> None:
    assert candidate_sockets({"DOCKER_HOST": "tcp://127.0.0.1:2375"}) == [
        FALLBACK_SOCKET
    ]
    assert candidate_sockets({"DOCKER_HOST": "unix://"}) == [FALLBACK_SOCKET]


def test_probe_reports_every_candidate(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regular = short_dir / "file.sock"
    regular.write_text("")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{regular}")
    monkeypatch.setenv("HOME", str(short_dir / "home"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)

    result = openshell_driver_probe()

    # NOTE: /var/run/docker.sock is a fixed candidate, so its outcome depends
    # on the machine; this test assumes no Docker Engine serves it.
    assert result.available is False
    assert result.outcomes[0] == f"{regular}: not a socket"
    assert result.outcomes[-1] == f"{short_dir}/home/.docker/run/docker.sock: absent"
    assert len(result.outcomes) == 3
