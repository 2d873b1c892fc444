"""Serving a ComputeDriver on a hardened Unix socket (the driver SDK)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from loguru import logger

from openshell.driver import ComputeDriver
from openshell.proto import compute_driver_pb2_grpc as pb_grpc
from openshell.sdk.caller_auth import SecretCheckInterceptor
from openshell.sdk.servicer import DriverServicer
from openshell.unix_sockets import (
    check_socket_path,
    prepare_private_directory,
    remove_stale_socket,
)

SHUTDOWN_GRACE_SECONDS = 5.0
"""How long in-flight calls may finish after a stop signal."""


class DriverServer:
    """A running gRPC server for one driver on one Unix socket."""

    def __init__(self, server: grpc.aio.Server, socket_path: Path) -> None:
        self._server = server
        self.socket_path = socket_path

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop serving and remove the socket file."""
        await self._server.stop(grace)
        self.socket_path.unlink(missing_ok=True)
        logger.info("driver server stopped; removed socket {}", self.socket_path)

    async def wait(self) -> None:
        await self._server.wait_for_termination()


async def start_driver_server(
    driver: ComputeDriver,
    socket_path: str | os.PathLike[str],
    *,
    secret: str | None = None,
) -> DriverServer:
    """Serve `driver` on `socket_path` and return once the socket accepts calls.

    The parent directory is made private (0700) and the socket is restricted
    to its owner (0600) right after binding. With `secret`, every call must
    carry it in its metadata or fails with UNAUTHENTICATED.
    """
    path = Path(socket_path)
    check_socket_path(os.fspath(path), "--bind-socket")
    prepare_private_directory(path.parent)
    remove_stale_socket(path)

    interceptors = [SecretCheckInterceptor(secret)] if secret else []
    server = grpc.aio.server(interceptors=interceptors)
    pb_grpc.add_ComputeDriverServicer_to_server(DriverServicer(driver), server)
    server.add_insecure_port(f"unix:{path}")
    await server.start()
    # grpcio creates the socket with the process umask; the 0700 directory
    # keeps other users out until the mode is tightened here.
    os.chmod(path, 0o600)
    logger.info("driver server listening on {}", path)
    return DriverServer(server, path)


async def _serve_until_signal(
    make_driver: Callable[[], Awaitable[ComputeDriver]],
    socket_path: str | os.PathLike[str],
    secret: str | None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    driver = await make_driver()
    try:
        server = await start_driver_server(driver, socket_path, secret=secret)
        try:
            await stop.wait()
            logger.info("stop signal received; shutting down the driver server")
        finally:
            await server.stop()
    finally:
        await driver.close()


def serve_driver(
    make_driver: Callable[[], Awaitable[ComputeDriver]],
    socket_path: str | os.PathLike[str],
    *,
    secret: str | None = None,
) -> int:
    """Build a driver and serve it until SIGINT or SIGTERM; return the exit status.

    Blocking entry point for a driver program's `main`. The socket is removed
    on exit and the driver's `close()` is awaited.
    """
    asyncio.run(_serve_until_signal(make_driver, socket_path, secret))
    return 0
