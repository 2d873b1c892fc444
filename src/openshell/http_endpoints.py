"""Plain HTTP endpoints beside the gRPC API: health checks and metrics.

A deliberately small HTTP/1.1 server: GET only, one request per connection.
`health_routes` serves GET /healthz (process alive) and GET /readyz (store
reachable and driver acquired); the metrics module adds GET /metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from loguru import logger

from openshell.errors import OpenShellError

REQUEST_TIMEOUT_SECONDS = 5.0
_MAX_REQUEST_LINE = 8192


@dataclass(frozen=True)
class HttpResponse:
    status: str
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    def encode(self) -> bytes:
        head = (
            f"HTTP/1.1 {self.status}\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + self.body


Route = Callable[[], Awaitable[HttpResponse]]

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else the reason the gateway is not ready."""


def health_routes(readiness: ReadinessCheck) -> dict[str, Route]:
    async def healthz() -> HttpResponse:
        return HttpResponse("200 OK", b"ok\n")

    async def readyz() -> HttpResponse:
        reason = await readiness()
        if reason is None:
            return HttpResponse("200 OK", b"ready\n")
        return HttpResponse(
            "503 Service Unavailable", f"not ready: {reason}\n".encode()
        )

    return {"/healthz": healthz, "/readyz": readyz}


class HttpEndpoints:
    """Serves a fixed set of GET routes on one address."""

    def __init__(
        self, name: str, host: str, port: int, routes: Mapping[str, Route], where: str
    ) -> None:
        self._name = name
        self._host = host
        self._port = port
        self._routes = dict(routes)
        self._where = where
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen, or raise OpenShellError naming the address and its setting."""
        try:
            self._server = await asyncio.start_server(
                self._handle, self._host, self._port
            )
        except OSError as error:
            raise OpenShellError(
                f"cannot listen for {self._name} on {self._host}:{self._port} "
                f"({self._where}): {error.strerror}"
            ) from None
        paths = ", ".join(sorted(self._routes))
        logger.info(
            "{} listening on {}:{} ({})", self._name, self._host, self._port, paths
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            request_line = await asyncio.wait_for(
                reader.readline(), REQUEST_TIMEOUT_SECONDS
            )
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # no route needs the headers
            response = await self._answer(request_line[:_MAX_REQUEST_LINE])
            writer.write(response.encode())
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, request_line: bytes) -> HttpResponse:
        parts = request_line.decode(errors="replace").split()
        if len(parts) < 2 or parts[0] != "GET":
            return HttpResponse("405 Method Not Allowed", b"only GET is supported\n")
        route = self._routes.get(parts[1].split("?", 1)[0])
        if route is None:
            known = ", ".join(sorted(self._routes))
            return HttpResponse("404 Not Found", f"not found; try {known}\n".encode())
        return await route()
