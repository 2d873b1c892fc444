"""Driver calls that must finish even when the client that asked goes away."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from loguru import logger

from openshell.gateway.errors import ApiError

T = TypeVar("T")


class BackgroundTasks:
    """Runs operations as tasks that survive cancellation of their caller.

    Stop, Start, Delete and Create change backend state and then the stored
    row. If the client cancels half-way, the row must still end up matching
    the backend, so the work runs in its own task and the caller waits on it
    through `asyncio.shield`. The set keeps a strong reference to each task
    until it ends.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._awaited: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start `work` as a task that no caller awaits; its failure is logged."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        awaited = task in self._awaited
        self._awaited.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        # An awaited task hands its error to the caller. ApiError failures are
        # logged where they are raised, so only unexpected errors show here.
        if error is not None and not awaited and not isinstance(error, ApiError):
            logger.bind(task=task.get_name()).opt(exception=error).error(
                "background operation failed: {}", error
            )

    async def run(self, work: Coroutine[Any, Any, T], name: str) -> T:
        """Run `work` in a task and wait for it; cancelling the wait spares it."""
        task = self.spawn(work, name)
        self._awaited.add(task)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self._awaited.discard(task)
            raise

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for running tasks, then cancel the rest.

        Returns how many tasks had to be cancelled.
        """
        pending = set(self._tasks)
        if not pending:
            return 0
        _, still_running = await asyncio.wait(pending, timeout=timeout)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.wait(still_running)
        return len(still_running)
