"""Fan-out of watch events to every open `WatchSandboxes` stream."""

from __future__ import annotations

import asyncio

from loguru import logger

from openshell.proto import compute_driver_pb2 as pb

WATCH_QUEUE_SIZE = 256
"""Events buffered per stream; a stream that falls further behind loses events."""

log = logger.bind(driver="docker")


class Subscription:
    """The queue of one watch stream; `next()` returns None once the hub closed."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[pb.WatchSandboxesEvent | None] = asyncio.Queue(size)
        self.dropped = 0

    async def next(self) -> pb.WatchSandboxesEvent | None:
        return await self._queue.get()

    def offer(self, event: pb.WatchSandboxesEvent) -> None:
        """Queue an event, or drop it when the queue is full (logged once)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "watch stream is too slow; dropping its events (queue size {})",
                    self._queue.maxsize,
                )

    def end(self) -> None:
        """Make the stream end after what it already has, making room if needed."""
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class WatchHub:
    """Delivers each published event to every subscribed stream, without blocking.

    A slow stream loses events instead of holding up the others; the gateway's
    reconcile loop repairs such gaps.
    """

    def __init__(self, queue_size: int = WATCH_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._closed = False

    def subscribe(self) -> Subscription:
        subscription = Subscription(self._queue_size)
        if self._closed:
            subscription.end()
        else:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, event: pb.WatchSandboxesEvent) -> None:
        for subscription in self._subscriptions:
            subscription.offer(event)

    def close(self) -> None:
        """End every stream; later subscriptions end at once."""
        self._closed = True
        for subscription in self._subscriptions:
            subscription.end()
        self._subscriptions.clear()
