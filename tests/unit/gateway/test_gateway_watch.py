"""WatchSandbox streams: snapshot first, follow flags, replay and endings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from openshell.proto import openshell_pb2 as api
from tests.unit.gateway.gateway_harness import (
    Harness,
    rpc_error,
    served_gateway,
    wait_for,
)
from tests.unit.gateway.scripted_driver import ScriptedDriver

Code = grpc.StatusCode


async def next_message(stream: object) -> api.SandboxStreamEvent:
    message = await asyncio.wait_for(stream.read(), timeout=5)  # type: ignore[attr-defined]
    assert message is not grpc.aio.EOF
    return message  # type: ignore[no-any-return]


async def provisioning(gw: Harness, name: str = "calm-otter") -> api.Sandbox:
    gw.driver.ready_on_start = False
    return await gw.create(name)


async def test_watch_id_required(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        stream = gw.stub.WatchSandbox(api.WatchSandboxRequest())
        error = await rpc_error(stream.read())

    assert (error.code(), error.details()) == (Code.INVALID_ARGUMENT, "id is required")


async def test_watch_unknown_id(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        stream = gw.stub.WatchSandbox(api.WatchSandboxRequest(id="nope"))
        error = await rpc_error(stream.read())

    assert (error.code(), error.details()) == (Code.NOT_FOUND, "sandbox not found")


async def test_watch_status_until_ready(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        row = await provisioning(gw)
        stream = gw.stub.WatchSandbox(
            api.WatchSandboxRequest(
                id=row.metadata.id, follow_status=True, stop_on_terminal=True
            )
        )
        first = await next_message(stream)
        gw.driver.state[row.metadata.id] = "running"
        gw.driver.emit_snapshot(row.metadata.id)
        snapshots = [first]
        while True:
            message = await asyncio.wait_for(stream.read(), timeout=5)
            if message is grpc.aio.EOF:
                break
            snapshots.append(message)
        code = await stream.code()

    assert first.sandbox.metadata.id == row.metadata.id
    assert snapshots[-1].sandbox.status.phase == api.SANDBOX_PHASE_READY
    assert all(message.HasField("sandbox") for message in snapshots)
    assert code == Code.OK


async def test_watch_ready_stops_at_once(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        await gw.create("calm-otter")
        row = await gw.wait_for_phase("calm-otter", api.SANDBOX_PHASE_READY)
        stream = gw.stub.WatchSandbox(
            api.WatchSandboxRequest(
                id=row.metadata.id, follow_status=True, stop_on_terminal=True
            )
        )
        first = await next_message(stream)
        end = await asyncio.wait_for(stream.read(), timeout=5)

    assert first.sandbox.status.phase == api.SANDBOX_PHASE_READY
    assert end is grpc.aio.EOF


async def test_watch_events_replay_and_live(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        row = await provisioning(gw)
        sandbox_id = row.metadata.id
        for reason in ("Scheduled", "Pulled", "Created"):
            gw.driver.emit_platform_event(sandbox_id, reason)
        await wait_for(
            lambda: _event_count(gw, sandbox_id, 3), "three platform events kept"
        )
        stream = gw.stub.WatchSandbox(
            api.WatchSandboxRequest(id=sandbox_id, follow_events=True, event_tail=2)
        )
        snapshot = await next_message(stream)
        replayed = [await next_message(stream) for _ in range(2)]
        gw.driver.emit_platform_event(sandbox_id, "Started")
        live = await next_message(stream)

    assert snapshot.HasField("sandbox")
    assert [m.event.reason for m in replayed] == ["Pulled", "Created"]
    assert live.event.reason == "Started"
    assert live.event.source == "scripted"


async def _event_count(gw: Harness, sandbox_id: str, count: int) -> bool:
    return len(gw.gateway.notifier.recent_events(sandbox_id, 100)) == count


async def test_watch_event_history_capped(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        row = await provisioning(gw)
        for index in range(60):
            gw.driver.emit_platform_event(row.metadata.id, f"E{index}")
        await wait_for(
            lambda: _last_event_is(gw, row.metadata.id, "E59"), "the last event"
        )
        kept = gw.gateway.notifier.recent_events(row.metadata.id, 1000)

    assert len(kept) == 50
    assert kept[0].reason == "E10"


async def _last_event_is(gw: Harness, sandbox_id: str, reason: str) -> bool:
    events = gw.gateway.notifier.recent_events(sandbox_id, 1)
    return bool(events) and events[0].reason == reason


async def test_watch_ends_when_row_removed(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        row = await provisioning(gw)
        stream = gw.stub.WatchSandbox(
            api.WatchSandboxRequest(id=row.metadata.id, follow_status=True)
        )
        await next_message(stream)
        await gw.stub.DeleteSandbox(api.DeleteSandboxRequest(name="calm-otter"))
        tail = []
        while True:
            message = await asyncio.wait_for(stream.read(), timeout=5)
            if message is grpc.aio.EOF:
                break
            tail.append(message)
        code = await stream.code()

    assert code == Code.OK
    assert all(message.HasField("sandbox") for message in tail)


async def test_watch_without_follow_stays_open(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        row = await provisioning(gw)
        stream = gw.stub.WatchSandbox(api.WatchSandboxRequest(id=row.metadata.id))
        first = await next_message(stream)
        read = asyncio.ensure_future(stream.read())
        done, _ = await asyncio.wait({read}, timeout=0.2)
        stream.cancel()
        read.cancel()

    assert first.HasField("sandbox")
    assert done == set()


async def test_watch_follow_logs_does_not_fail(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        row = await provisioning(gw)
        stream = gw.stub.WatchSandbox(
            api.WatchSandboxRequest(id=row.metadata.id, follow_logs=True)
        )
        first = await next_message(stream)
        driver.emit_deleted(row.metadata.id)
        end = await asyncio.wait_for(stream.read(), timeout=5)
        code = await stream.code()

    assert first.HasField("sandbox")
    assert end is grpc.aio.EOF
    assert code == Code.OK
