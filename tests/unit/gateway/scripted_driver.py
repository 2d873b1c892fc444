"""An in-memory ComputeDriver for the gateway core tests.

This is a test double. It keeps its sandboxes in dicts and emits watch
events like a real driver. Tests use it to script driver faults that a real
engine cannot be made to produce on demand: errors from stop or start,
`NOT_FOUND` during the start-up sweep, `deleted = true` without a following
`deleted` event, and watch streams that end or fail. Coverage against real
engines comes from the Docker end-to-end tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from openshell.driver import ComputeDriver
from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb

_END_OF_STREAM = None


class ScriptedDriver(ComputeDriver):
    """Sandboxes in memory; `faults` maps a method name to the error it raises."""

    def __init__(
        self,
        *,
        manages_lifecycle: bool = True,
        default_image: str = "registry.test/base:1",
    ) -> None:
        self.capabilities = pb.GetCapabilitiesResponse(
            driver_name="scripted-driver",
            driver_version="0.0.1",
            default_image=default_image,
            gateway_manages_lifecycle=manages_lifecycle,
        )
        self.sandboxes: dict[str, pb.DriverSandbox] = {}
        self.state: dict[str, str] = {}
        """Sandbox ID -> "creating", "running" or "stopped"."""
        self.calls: list[tuple[str, str]] = []
        self.faults: dict[str, Exception] = {}
        self.created: list[pb.DriverSandbox] = []
        self.validated: list[pb.DriverSandbox] = []
        self.ready_on_start = True
        self.emit_deleted_event = True
        self.delete_result: bool | None = None
        self.stop_gate: asyncio.Event | None = None
        self.stream_fault: Exception | None = None
        self.streams_opened = 0
        self._streams: list[asyncio.Queue[pb.WatchSandboxesEvent | None]] = []

    # Helpers for tests.

    def add(self, sandbox_id: str, name: str, state: str = "running") -> None:
        """Put a sandbox into the backend without a create call."""
        self.sandboxes[sandbox_id] = pb.DriverSandbox(
            id=sandbox_id, name=name, workspace="default"
        )
        self.state[sandbox_id] = state

    def _started_state(self) -> str:
        return "running" if self.ready_on_start else "creating"

    def observation(self, sandbox_id: str) -> pb.DriverSandbox:
        sandbox = pb.DriverSandbox()
        sandbox.CopyFrom(self.sandboxes[sandbox_id])
        sandbox.ClearField("spec")
        sandbox.status.sandbox_name = f"backend-{sandbox.name}"
        sandbox.status.instance_id = f"instance-{sandbox_id[:8]}"
        state = self.state[sandbox_id]
        if state == "running":
            sandbox.status.conditions.add(
                type="Ready", status="True", reason="ContainerRunning"
            )
        elif state == "stopped":
            sandbox.status.conditions.add(
                type="Ready", status="False", reason="ContainerExited"
            )
        else:
            sandbox.status.conditions.add(
                type="Ready", status="False", reason="ContainerCreated"
            )
        return sandbox

    def emit(self, event: pb.WatchSandboxesEvent) -> None:
        for queue in self._streams:
            queue.put_nowait(event)

    def emit_snapshot(self, sandbox_id: str) -> None:
        event = pb.WatchSandboxesEvent()
        event.sandbox.sandbox.CopyFrom(self.observation(sandbox_id))
        self.emit(event)

    def emit_deleted(self, sandbox_id: str) -> None:
        event = pb.WatchSandboxesEvent()
        event.deleted.sandbox_id = sandbox_id
        self.emit(event)

    def emit_platform_event(self, sandbox_id: str, reason: str) -> None:
        event = pb.WatchSandboxesEvent()
        event.platform_event.sandbox_id = sandbox_id
        event.platform_event.event.CopyFrom(
            pb.DriverPlatformEvent(
                timestamp_ms=1, source="scripted", type="Normal", reason=reason
            )
        )
        self.emit(event)

    def end_streams(self) -> None:
        """End every open watch stream cleanly."""
        for queue in self._streams:
            queue.put_nowait(_END_OF_STREAM)

    def calls_of(self, method: str) -> list[str]:
        return [sandbox_id for name, sandbox_id in self.calls if name == method]

    def _check_fault(self, method: str, sandbox_id: str) -> None:
        self.calls.append((method, sandbox_id))
        fault = self.faults.get(method)
        if fault is not None:
            raise fault

    def _require(self, sandbox_id: str) -> None:
        if sandbox_id not in self.sandboxes:
            raise DriverError.not_found()

    # ComputeDriver.

    async def get_capabilities(self) -> pb.GetCapabilitiesResponse:
        return self.capabilities

    async def validate_sandbox_create(self, sandbox: pb.DriverSandbox) -> None:
        self._check_fault("validate", sandbox.id)
        self.validated.append(sandbox)

    async def create_sandbox(self, sandbox: pb.DriverSandbox) -> None:
        self._check_fault("create", sandbox.id)
        if sandbox.id in self.sandboxes:
            raise DriverError.already_exists()
        self.created.append(sandbox)
        self.sandboxes[sandbox.id] = sandbox
        self.state[sandbox.id] = self._started_state()
        self.emit_snapshot(sandbox.id)

    async def get_sandbox(self, sandbox_id: str, sandbox_name: str) -> pb.DriverSandbox:
        self._check_fault("get", sandbox_id)
        self._require(sandbox_id)
        return self.observation(sandbox_id)

    async def list_sandboxes(self) -> list[pb.DriverSandbox]:
        self._check_fault("list", "")
        return [self.observation(sandbox_id) for sandbox_id in self.sandboxes]

    async def stop_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        self._check_fault("stop", sandbox_id)
        if self.stop_gate is not None:
            await self.stop_gate.wait()
        self._require(sandbox_id)
        self.state[sandbox_id] = "stopped"
        self.emit_snapshot(sandbox_id)

    async def start_sandbox(self, sandbox_id: str, sandbox_name: str) -> None:
        self._check_fault("start", sandbox_id)
        self._require(sandbox_id)
        self.state[sandbox_id] = self._started_state()
        self.emit_snapshot(sandbox_id)

    async def delete_sandbox(self, sandbox_id: str, sandbox_name: str) -> bool:
        self._check_fault("delete", sandbox_id)
        if self.delete_result is not None:
            return self.delete_result
        if sandbox_id not in self.sandboxes:
            return False
        del self.sandboxes[sandbox_id]
        del self.state[sandbox_id]
        if self.emit_deleted_event:
            self.emit_deleted(sandbox_id)
        return True

    async def watch_sandboxes(self) -> AsyncIterator[pb.WatchSandboxesEvent]:
        self.streams_opened += 1
        if self.stream_fault is not None:
            raise self.stream_fault
        queue: asyncio.Queue[pb.WatchSandboxesEvent | None] = asyncio.Queue()
        self._streams.append(queue)
        try:
            for sandbox_id in list(self.sandboxes):
                event = pb.WatchSandboxesEvent()
                event.sandbox.sandbox.CopyFrom(self.observation(sandbox_id))
                yield event
            while True:
                item = await queue.get()
                if item is _END_OF_STREAM:
                    return
                yield item
        finally:
            self._streams.remove(queue)
