"""Per-sandbox notices: coalesced row changes, queued events, lagging watchers."""

from __future__ import annotations

import asyncio

import pytest

from openshell.gateway.notify import (
    ChangeNotifier,
    NoticeKind,
    SubscriberLagged,
    Subscription,
)
from openshell.proto import openshell_pb2 as api


async def next_kind(subscription: Subscription) -> NoticeKind:
    return (await asyncio.wait_for(subscription.next(), timeout=1)).kind


async def test_row_changes_coalesce() -> None:
    notifier = ChangeNotifier()
    subscription = notifier.subscribe("id-1")
    notifier.row_changed("id-1")
    notifier.row_changed("id-1")
    notifier.platform_event("id-1", api.PlatformEvent(reason="Pulled"))
    notifier.row_changed("id-1")

    first = await next_kind(subscription)
    second = await next_kind(subscription)
    notifier.row_changed("id-1")
    third = await next_kind(subscription)

    # One pending change notice covers later changes: the watcher re-reads the row.
    assert first == NoticeKind.ROW_CHANGED
    assert second == NoticeKind.PLATFORM_EVENT
    assert third == NoticeKind.ROW_CHANGED


async def test_other_sandboxes_not_notified() -> None:
    notifier = ChangeNotifier()
    subscription = notifier.subscribe("id-1")
    notifier.row_changed("id-2")

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(subscription.next(), timeout=0.05)


async def test_lagging_subscriber_fails() -> None:
    notifier = ChangeNotifier(capacity=2)
    subscription = notifier.subscribe("id-1")
    for index in range(5):
        notifier.platform_event("id-1", api.PlatformEvent(reason=f"E{index}"))

    with pytest.raises(SubscriberLagged) as raised:
        await asyncio.wait_for(subscription.next(), timeout=1)

    assert raised.value.dropped == 3
    assert str(raised.value) == "watch stream lagged; dropped 3 messages"


async def test_removal_clears_history() -> None:
    notifier = ChangeNotifier(history=2)
    for reason in ("A", "B", "C"):
        notifier.platform_event("id-1", api.PlatformEvent(reason=reason))
    kept = [event.reason for event in notifier.recent_events("id-1", 10)]
    notifier.row_removed("id-1")

    assert kept == ["B", "C"]
    assert notifier.recent_events("id-1", 10) == []


async def test_unsubscribe_forgets_sandbox() -> None:
    notifier = ChangeNotifier()
    subscription = notifier.subscribe("id-1")
    notifier.unsubscribe(subscription)

    assert notifier.subscriber_count("id-1") == 0
