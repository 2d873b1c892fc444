"""Following the engine's container event stream, reconnecting when it breaks.

A thread reads the blocking docker-py stream and hands each event to the
event loop, where one task handles them in order. After every (re)connect the
thread first queues a resync, so changes missed while the stream was down
are published too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from openshell_driver_docker.engine import DockerEngine, EventStream
from openshell_driver_docker.probe import PingOutcome, ping_docker

INITIAL_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
THREAD_JOIN_SECONDS = 5.0

log = logger.bind(driver="docker")

EngineEvent = dict[str, Any]


class _Resync:
    """Queue marker: the stream (re)connected, list everything again."""


_RESYNC = _Resync()


class EngineMonitor:
    """Runs `on_resync` after each connect and `on_event` for each container event."""

    def __init__(
        self,
        engine: DockerEngine,
        label_filters: list[str],
        *,
        on_event: Callable[[EngineEvent], Awaitable[None]],
        on_resync: Callable[[], Awaitable[None]],
    ) -> None:
        self._engine = engine
        self._label_filters = label_filters
        self._on_event = on_event
        self._on_resync = on_resync
        self._stopping = threading.Event()
        self._stream_lock = threading.Lock()
        self._stream: EventStream | None = None
        self._thread: threading.Thread | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._items: asyncio.Queue[EngineEvent | _Resync] = asyncio.Queue()

    def start(self) -> None:
        """Start the reader thread and the handling task on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._consumer = self._loop.create_task(self._consume(), name="docker-events")
        self._thread = threading.Thread(
            target=self._follow, name="openshell-docker-events", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        """Close the stream, wait for the thread and cancel the handling task."""
        self._stopping.set()
        with self._stream_lock:
            if self._stream is not None:
                self._stream.close()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, THREAD_JOIN_SECONDS)
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    def _follow(self) -> None:
        """Read events until stopped, reconnecting with exponential backoff."""
        backoff = INITIAL_BACKOFF_SECONDS
        failures = 0
        while not self._stopping.is_set():
            stream = self._open(failures)
            if stream is None:
                failures += 1
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue

            if failures:
                log.info("docker event stream reconnected after {} failures", failures)
            failures = 0
            backoff = INITIAL_BACKOFF_SECONDS
            self._hand_over(_RESYNC)
            self._read(stream)

            if not self._stopping.is_set():
                log.warning("docker event stream ended; reconnecting")
                self._stopping.wait(backoff)

    def _open(self, failures: int) -> EventStream | None:
        # One warning per outage; the retries that follow log at debug level.
        level = "DEBUG" if failures else "WARNING"

        # A raw ping first, because docker-py 7.2 leaks the socket of a
        # failed connect (UnixHTTPConnection.connect), once per retry.
        outcome = ping_docker(self._engine.socket_path)
        if outcome is not PingOutcome.ANSWERED:
            log.log(
                level,
                "docker event stream connect failed: engine socket {}; retrying",
                outcome.value,
            )
            return None
        try:
            stream = self._engine.open_event_stream(self._label_filters)
        except Exception as error:
            log.log(level, "docker event stream connect failed: {}; retrying", error)
            return None
        with self._stream_lock:
            if self._stopping.is_set():
                stream.close()
                return None
            self._stream = stream
        log.debug("docker event stream connected")
        return stream

    def _read(self, stream: EventStream) -> None:
        try:
            for event in stream:
                self._hand_over(event)
        except Exception as error:
            if not self._stopping.is_set():
                log.warning("docker event stream failed: {}", error)
        finally:
            with self._stream_lock:
                self._stream = None
            stream.close()

    def _hand_over(self, item: EngineEvent | _Resync) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:
            # The loop is closed, so no task is left to handle events.
            self._stopping.set()

    async def _consume(self) -> None:
        while True:
            item = await self._items.get()
            if isinstance(item, _Resync):
                await self._resync()
                continue
            try:
                await self._on_event(item)
            except Exception as error:
                log.warning(
                    "handling docker event {} failed: {}", item.get("Action"), error
                )

    async def _resync(self) -> None:
        """Run `on_resync` until it succeeds; events wait behind it meanwhile."""
        backoff = INITIAL_BACKOFF_SECONDS
        while True:
            try:
                await self._on_resync()
                return
            except Exception as error:
                log.warning("docker resync failed: {}; retrying in {}s", error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
