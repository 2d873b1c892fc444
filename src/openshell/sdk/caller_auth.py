"""Caller check for managed drivers: a per-launch secret sent as call metadata.

grpcio does not expose the peer credentials of a Unix socket connection
(`context.peer()` is just "unix:"), so the SO_PEERCRED check that upstream
drivers make is not available. The gateway that starts a driver instead hands
it a random secret through an inherited pipe, never the command line, and
sends the secret with every call.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from loguru import logger

if TYPE_CHECKING:
    # Generic only in the grpcio type stubs, so spelled out for the checker.
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]


SECRET_METADATA_KEY = "x-openshell-driver-secret"
"""Call metadata entry that carries the launch secret."""

SECRET_FD_VARIABLE = "OPENSHELL_DRIVER_SECRET_FD"
"""Environment variable naming the inherited pipe the secret is read from."""

_MAX_SECRET_BYTES = 4096


def new_launch_secret() -> str:
    """Return a fresh random secret for one driver launch."""
    return secrets.token_urlsafe(32)


def read_launch_secret(environ: Mapping[str, str]) -> str | None:
    """Read the launch secret from the pipe named in the environment, if any.

    The descriptor is closed after reading, so the secret cannot be read twice.
    """
    raw_fd = environ.get(SECRET_FD_VARIABLE)
    if not raw_fd:
        return None
    fd = int(raw_fd)
    try:
        data = os.read(fd, _MAX_SECRET_BYTES)
    finally:
        os.close(fd)
    secret = data.decode().strip()
    if not secret:
        raise ValueError(f"{SECRET_FD_VARIABLE}={fd} gave an empty secret")
    return secret


class SecretCheckInterceptor(grpc.aio.ServerInterceptor):
    """Rejects every call whose metadata lacks the expected secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _is_authorized(self, metadata: tuple[Any, ...] | None) -> bool:
        for key, value in metadata or ():
            if key == SECRET_METADATA_KEY:
                sent = value.encode() if isinstance(value, str) else bytes(value)
                return hmac.compare_digest(sent, self._secret)
        return False

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or self._is_authorized(
            handler_call_details.invocation_metadata
        ):
            return handler
        method = handler_call_details.method
        logger.warning(
            "rejected compute driver call {}: missing or wrong secret", method
        )
        return _rejecting_handler(handler)


async def _reject(request: Any, context: Context) -> None:
    await context.abort(
        grpc.StatusCode.UNAUTHENTICATED,
        "caller is not the gateway that started this driver",
    )


def _rejecting_handler(handler: Handler) -> Handler:
    """Build a handler of the same shape as `handler` that rejects the call."""
    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_reject, **options)
    return grpc.unary_unary_rpc_method_handler(_reject, **options)
