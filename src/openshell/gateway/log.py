"""Loggers bound to the identity of one sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

from openshell.proto import openshell_pb2 as api

if TYPE_CHECKING:
    from loguru import Logger


def sandbox_logger(sandbox: api.Sandbox) -> Logger:
    """Return the logger with the sandbox's ID and name bound."""
    return logger.bind(
        sandbox_id=sandbox.metadata.id, sandbox_name=sandbox.metadata.name
    )
