"""Deciding which snapshots, deletions and platform events reach the watch streams.

The reporter remembers the last snapshot published for each sandbox. That
lets it skip repeats, publish `deleted` once per sandbox, and find the
sandboxes that vanished while the engine's event stream was down.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable

from openshell.proto import compute_driver_pb2 as pb
from openshell_driver_docker.hub import WatchHub
from openshell_driver_docker.status import EXITED_STATE, Observation

PLATFORM_EVENT_SOURCE = "docker"
MAX_REMEMBERED_REMOVALS = 1024
"""Removed container IDs kept to ignore late engine events about them."""


class Reporter:
    """Publishes sandbox changes to a `WatchHub`, without repeats or stale states."""

    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub
        self._published: dict[str, pb.DriverSandbox] = {}
        self._removed_containers: OrderedDict[str, None] = OrderedDict()
        self._stale_exits: dict[str, str] = {}

    def snapshot(self, sandbox: pb.DriverSandbox) -> None:
        """Publish a snapshot unless it equals the last one for that sandbox."""
        if self._published.get(sandbox.id) == sandbox:
            return
        self._published[sandbox.id] = sandbox
        self._hub.publish(
            pb.WatchSandboxesEvent(
                sandbox=pb.WatchSandboxesSandboxEvent(sandbox=sandbox)
            )
        )

    def observation(self, observation: Observation) -> None:
        """Publish a container's snapshot unless it describes a past state.

        A container that was removed, or an exit that a later start replaced,
        is stale: engine events can arrive after the driver moved on.
        """
        if observation.container_id in self._removed_containers:
            return
        sandbox_id = observation.sandbox.id
        if (
            observation.state == EXITED_STATE
            and self._stale_exits.get(sandbox_id) == observation.finished_at
        ):
            return
        self.snapshot(observation.sandbox)

    def deleted(self, sandbox_id: str, *, always: bool = False) -> None:
        """Publish `deleted` for a sandbox that was reported; `always` for any ID."""
        if sandbox_id not in self._published and not always:
            return
        self._published.pop(sandbox_id, None)
        self._stale_exits.pop(sandbox_id, None)
        self._hub.publish(
            pb.WatchSandboxesEvent(
                deleted=pb.WatchSandboxesDeletedEvent(sandbox_id=sandbox_id)
            )
        )

    def platform_event(
        self, sandbox_id: str, reason: str, message: str, *, warning: bool = False
    ) -> None:
        event = pb.DriverPlatformEvent(
            timestamp_ms=time.time_ns() // 1_000_000,
            source=PLATFORM_EVENT_SOURCE,
            type="Warning" if warning else "Normal",
            reason=reason,
            message=message,
        )
        self._hub.publish(
            pb.WatchSandboxesEvent(
                platform_event=pb.WatchSandboxesPlatformEvent(
                    sandbox_id=sandbox_id, event=event
                )
            )
        )

    def container_removed(self, container_id: str) -> None:
        """Remember a removed container, so later events about it are ignored."""
        self._removed_containers[container_id] = None
        while len(self._removed_containers) > MAX_REMEMBERED_REMOVALS:
            self._removed_containers.popitem(last=False)

    def container_kept(self, container_id: str) -> None:
        """Undo `container_removed` after a removal failed."""
        self._removed_containers.pop(container_id, None)

    def is_removed(self, container_id: str) -> bool:
        return container_id in self._removed_containers

    def exit_replaced(self, sandbox_id: str, finished_at: str) -> None:
        """Remember the exit that a start replaces, so it is not published again."""
        if finished_at:
            self._stale_exits[sandbox_id] = finished_at

    def resync(
        self, observations: Iterable[Observation], pending: Iterable[pb.DriverSandbox]
    ) -> None:
        """Publish what changed since the last snapshots; `deleted` for the missing."""
        present: set[str] = set()
        for observation in observations:
            present.add(observation.sandbox.id)
            self.observation(observation)
        for sandbox in pending:
            present.add(sandbox.id)
            self.snapshot(sandbox)

        for sandbox_id in [known for known in self._published if known not in present]:
            self.deleted(sandbox_id)
