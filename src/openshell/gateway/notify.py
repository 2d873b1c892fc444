"""Per-sandbox change notifications and platform event history for watchers.

Every store write publishes a notice to the `WatchSandbox` streams of that
sandbox. Row changes coalesce (a stream re-reads the row, so several quick
changes can become one snapshot), while platform events queue one by one. A
stream that falls more than `WATCH_SUBSCRIBER_CAPACITY` notices behind is
ended as lagging rather than allowed to grow without bound.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from dataclasses import dataclass

from openshell.gateway import constants as c
from openshell.proto import openshell_pb2 as api


class NoticeKind(enum.Enum):
    ROW_CHANGED = "row_changed"
    ROW_REMOVED = "row_removed"
    PLATFORM_EVENT = "platform_event"


@dataclass(frozen=True)
class Notice:
    """One notification for a sandbox; `event` is set for platform events."""

    kind: NoticeKind
    event: api.PlatformEvent | None = None


class SubscriberLagged(Exception):
    """The subscriber's queue overflowed; `dropped` notices were lost."""

    def __init__(self, dropped: int) -> None:
        super().__init__(f"watch stream lagged; dropped {dropped} messages")
        self.dropped = dropped


class Subscription:
    """The notices of one sandbox for one watcher, in publication order."""

    def __init__(self, sandbox_id: str, capacity: int) -> None:
        self.sandbox_id = sandbox_id
        self._capacity = capacity
        self._notices: deque[Notice] = deque()
        self._change_pending = False
        self._dropped = 0
        self._wakeup = asyncio.Event()

    def publish(self, notice: Notice) -> None:
        if notice.kind is NoticeKind.ROW_CHANGED and self._change_pending:
            return
        if len(self._notices) >= self._capacity:
            self._dropped += 1
        else:
            self._notices.append(notice)
            if notice.kind is NoticeKind.ROW_CHANGED:
                self._change_pending = True
        self._wakeup.set()

    async def next(self) -> Notice:
        """Wait for the next notice; raise `SubscriberLagged` after an overflow."""
        while not self._notices:
            if self._dropped:
                raise SubscriberLagged(self._dropped)
            self._wakeup.clear()
            await self._wakeup.wait()
        if self._dropped:
            raise SubscriberLagged(self._dropped)
        notice = self._notices.popleft()
        if notice.kind is NoticeKind.ROW_CHANGED:
            self._change_pending = False
        return notice


class ChangeNotifier:
    """Broadcasts row changes, removals and platform events per sandbox ID."""

    def __init__(
        self,
        capacity: int = c.WATCH_SUBSCRIBER_CAPACITY,
        history: int = c.PLATFORM_EVENT_HISTORY,
    ) -> None:
        self._capacity = capacity
        self._history_size = history
        self._subscribers: dict[str, set[Subscription]] = {}
        self._history: dict[str, deque[api.PlatformEvent]] = {}

    def subscribe(self, sandbox_id: str) -> Subscription:
        subscription = Subscription(sandbox_id, self._capacity)
        self._subscribers.setdefault(sandbox_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.sandbox_id)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.sandbox_id]

    def subscriber_count(self, sandbox_id: str) -> int:
        return len(self._subscribers.get(sandbox_id, ()))

    def _publish(self, sandbox_id: str, notice: Notice) -> None:
        for subscription in list(self._subscribers.get(sandbox_id, ())):
            subscription.publish(notice)

    def row_changed(self, sandbox_id: str) -> None:
        self._publish(sandbox_id, Notice(NoticeKind.ROW_CHANGED))

    def row_removed(self, sandbox_id: str) -> None:
        self._history.pop(sandbox_id, None)
        self._publish(sandbox_id, Notice(NoticeKind.ROW_REMOVED))

    def platform_event(self, sandbox_id: str, event: api.PlatformEvent) -> None:
        """Keep the event for replay and forward it to live watchers."""
        history = self._history.get(sandbox_id)
        if history is None:
            history = self._history[sandbox_id] = deque(maxlen=self._history_size)
        history.append(event)
        self._publish(sandbox_id, Notice(NoticeKind.PLATFORM_EVENT, event))

    def recent_events(self, sandbox_id: str, count: int) -> list[api.PlatformEvent]:
        """Return up to `count` of the newest kept events, oldest first."""
        if count <= 0:
            return []
        history = self._history.get(sandbox_id, ())
        return list(history)[-count:]
