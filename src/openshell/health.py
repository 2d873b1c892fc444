"""Plain HTTP health endpoints: GET /healthz (alive) and GET /readyz (ready)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else the reason the gateway is not ready."""

_MAX_REQUEST_LINE = 8192


def _response(status: str, body: str) -> bytes:
    payload = body.encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


class HealthServer:
    """Serves liveness and readiness on its own address."""

    def __init__(self, host: str, port: int, readiness: ReadinessCheck) -> None:
        self._host = host
        self._port = port
        self._readiness = readiness
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        logger.info("health endpoints listening on {}:{}", self._host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5.0)
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            writer.write(await self._answer(request_line[:_MAX_REQUEST_LINE]))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, request_line: bytes) -> bytes:
        parts = request_line.decode(errors="replace").split()
        if len(parts) < 2 or parts[0] != "GET":
            return _response("405 Method Not Allowed", "only GET is supported\n")
        path = parts[1].split("?", 1)[0]
        if path == "/healthz":
            return _response("200 OK", "ok\n")
        if path == "/readyz":
            reason = await self._readiness()
            if reason is None:
                return _response("200 OK", "ready\n")
            return _response("503 Service Unavailable", f"not ready: {reason}\n")
        return _response("404 Not Found", "not found; try /healthz or /readyz\n")
