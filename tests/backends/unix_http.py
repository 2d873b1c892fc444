"""HTTP over a Unix socket with the standard library, for daemon APIs."""

import http.client
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection that connects to a Unix socket instead of a TCP port."""

    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def request(
    socket_path: Path,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """Send one request and return the status code and the whole response body."""
    connection = UnixHTTPConnection(socket_path, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def request_json(
    socket_path: Path,
    method: str,
    path: str,
    payload: Any = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """Send ``payload`` as JSON and return the status code and the decoded body.

    An empty response body decodes to None.
    """
    body = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    status, raw = request(socket_path, method, path, body, headers, timeout)
    return status, json.loads(raw) if raw.strip() else None


def answers_ping(socket_path: Path) -> bool:
    """Return whether the API on ``socket_path`` responds to ``GET /_ping`` with OK."""
    try:
        status, body = request(socket_path, "GET", "/_ping", timeout=2.0)
    except OSError:
        return False
    return status == 200 and body.strip() == b"OK"


def wait_for_ping(
    socket_path: Path, timeout: float, is_alive: Callable[[], bool]
) -> bool:
    """Poll ``GET /_ping`` until it succeeds (True) or ``timeout`` seconds pass.

    Returns False early once ``is_alive()`` returns False.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers_ping(socket_path):
            return True
        if not is_alive():
            return False
        time.sleep(0.02)
    return False
