"""Helpers for the Docker driver tests: sandboxes to request and a watch recorder."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from openshell_driver_docker.driver import DockerDriver
from openshell_driver_docker.plugin import open_driver
from openshell_driver_docker.settings import DockerSettings

from openshell.proto import compute_driver_pb2 as pb

EVENT_TIMEOUT_SECONDS = 30.0

# Exits at once on SIGTERM, so stopping takes no 10 s kill timeout.
LONG_RUNNING = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def settings_for(socket: Path, namespace: str, **overrides: object) -> DockerSettings:
    table: dict[str, object] = {
        "socket_path": str(socket),
        "network_name": "none",
        "sandbox_namespace": namespace,
        **overrides,
    }
    return DockerSettings.from_table(table)


@contextlib.asynccontextmanager
async def opened_driver(
    socket: Path, namespace: str, **overrides: object
) -> AsyncIterator[DockerDriver]:
    driver = await open_driver(settings_for(socket, namespace, **overrides))
    try:
        yield driver
    finally:
        await driver.close()


def sandbox_request(
    image: str,
    *,
    name: str = "demo",
    workspace: str = "team",
    command: Sequence[str] = LONG_RUNNING,
    tty: bool = False,
    environment: dict[str, str] | None = None,
    template_environment: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> pb.DriverSandbox:
    return pb.DriverSandbox(
        id=str(uuid.uuid4()),
        name=name,
        workspace=workspace,
        spec=pb.DriverSandboxSpec(
            command=list(command),
            tty=tty,
            environment=environment or {},
            sandbox_token="token-that-must-never-be-logged",
            template=pb.DriverSandboxTemplate(
                image=image,
                labels=labels or {},
                environment=template_environment or {},
            ),
        ),
    )


def ready_reason(sandbox: pb.DriverSandbox) -> tuple[str, str]:
    """Return (status, reason) of the sandbox's Ready condition."""
    for condition in sandbox.status.conditions:
        if condition.type == "Ready":
            return condition.status, condition.reason
    return "", ""


def is_snapshot(sandbox_id: str, status: str, reason: str) -> EventMatcher:
    def matches(event: pb.WatchSandboxesEvent) -> bool:
        if event.WhichOneof("payload") != "sandbox":
            return False
        sandbox = event.sandbox.sandbox
        return sandbox.id == sandbox_id and ready_reason(sandbox) == (status, reason)

    return matches


def is_deleted(sandbox_id: str) -> EventMatcher:
    def matches(event: pb.WatchSandboxesEvent) -> bool:
        return (
            event.WhichOneof("payload") == "deleted"
            and event.deleted.sandbox_id == sandbox_id
        )

    return matches


def is_platform_event(sandbox_id: str, reason: str) -> EventMatcher:
    def matches(event: pb.WatchSandboxesEvent) -> bool:
        return (
            event.WhichOneof("payload") == "platform_event"
            and event.platform_event.sandbox_id == sandbox_id
            and event.platform_event.event.reason == reason
        )

    return matches


EventMatcher = Callable[[pb.WatchSandboxesEvent], bool]


class WatchRecorder:
    """Reads one watch stream in the background and keeps every event."""

    def __init__(self, driver: DockerDriver) -> None:
        self.events: list[pb.WatchSandboxesEvent] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read(driver))

    async def _read(self, driver: DockerDriver) -> None:
        try:
            async for event in driver.watch_sandboxes():
                async with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
        finally:
            # Wake waiters, so they see that the stream ended.
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(
        self,
        matcher: EventMatcher,
        *,
        after: int = 0,
        timeout: float = EVENT_TIMEOUT_SECONDS,
    ) -> int:
        """Return the index of the first matching event at or after `after`."""

        def find() -> int | None:
            for index in range(after, len(self.events)):
                if matcher(self.events[index]):
                    return index
            return None

        async with asyncio.timeout(timeout), self._changed:
            while (found := find()) is None:
                if self._task.done():
                    self._task.result()
                    raise AssertionError("watch stream ended")
                await self._changed.wait()
        return found

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def recording(driver: DockerDriver) -> AsyncIterator[WatchRecorder]:
    recorder = WatchRecorder(driver)
    try:
        yield recorder
    finally:
        await recorder.close()
