"""DeleteSandbox, StopSandbox and StartSandbox through the public API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from openshell.errors import DriverError
from openshell.gateway import open_store
from openshell.proto import openshell_pb2 as api
from tests.unit.gateway.gateway_harness import (
    Harness,
    rpc_error,
    served_gateway,
    wait_for,
)
from tests.unit.gateway.scripted_driver import ScriptedDriver

Code = grpc.StatusCode
READY = api.SANDBOX_PHASE_READY
STOPPED = api.SANDBOX_PHASE_STOPPED
STOPPING = api.SANDBOX_PHASE_STOPPING
STARTING = api.SANDBOX_PHASE_STARTING
DELETING = api.SANDBOX_PHASE_DELETING


def ready_condition(row: api.Sandbox) -> tuple[str, str, str]:
    conditions = [cond for cond in row.status.conditions if cond.type == "Ready"]
    assert len(conditions) == 1
    return conditions[0].status, conditions[0].reason, conditions[0].message


async def ready_sandbox(gw: Harness, name: str = "calm-otter") -> api.Sandbox:
    await gw.create(name)
    return await gw.wait_for_phase(name, READY)


async def delete(gw: Harness, name: str) -> bool:
    response = await gw.stub.DeleteSandbox(api.DeleteSandboxRequest(name=name))
    return response.deleted


async def stop(gw: Harness, name: str) -> api.Sandbox:
    return (await gw.stub.StopSandbox(api.StopSandboxRequest(name=name))).sandbox


async def start(gw: Harness, name: str) -> api.Sandbox:
    return (await gw.stub.StartSandbox(api.StartSandboxRequest(name=name))).sandbox


async def test_delete_with_event_removes_row(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        await ready_sandbox(gw)
        deleted = await delete(gw, "calm-otter")
        error = await rpc_error(gw.get("calm-otter"))

    assert deleted is True
    assert (error.code(), error.details()) == (Code.NOT_FOUND, "sandbox not found")


async def test_delete_without_event_keeps_deleting(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.emit_deleted_event = False
    async with served_gateway(tmp_path, driver) as gw:
        row = await ready_sandbox(gw)
        first = await delete(gw, "calm-otter")
        visible = await gw.get("calm-otter")
        second = await delete(gw, "calm-otter")
        driver.emit_deleted(row.metadata.id)
        await wait_for(
            lambda: _missing(gw, "calm-otter"), "the deleted event to remove the row"
        )

    assert first is True
    assert visible.status.phase == DELETING
    assert second is True
    assert driver.calls_of("delete") == [row.metadata.id]


async def _missing(gw: Harness, name: str) -> bool:
    return await gw.store.get_by_name("default", name) is None


async def test_delete_ignores_snapshots_while_deleting(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.delete_result = True
    async with served_gateway(tmp_path, driver) as gw:
        row = await ready_sandbox(gw)
        await delete(gw, "calm-otter")
        driver.emit_snapshot(row.metadata.id)
        driver.emit_platform_event(row.metadata.id, "Marker")
        await wait_for(
            lambda: _has_events(gw, row.metadata.id), "the marker event to arrive"
        )
        visible = await gw.get("calm-otter")

    assert visible.status.phase == DELETING


async def _has_events(gw: Harness, sandbox_id: str) -> bool:
    return bool(gw.gateway.notifier.recent_events(sandbox_id, 1))


async def test_delete_nothing_in_backend(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.delete_result = False
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        deleted = await delete(gw, "calm-otter")
        remaining = await gw.store.all()

    assert deleted is False
    assert remaining == []


async def test_delete_errors(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        no_name = await rpc_error(gw.stub.DeleteSandbox(api.DeleteSandboxRequest()))
        missing = await rpc_error(delete(gw, "nobody"))

    assert (no_name.code(), no_name.details()) == (
        Code.INVALID_ARGUMENT,
        "name is required",
    )
    assert (missing.code(), missing.details()) == (Code.NOT_FOUND, "sandbox not found")


async def test_delete_driver_error_restores_row(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        driver.faults["delete"] = DriverError.internal("engine down")
        error = await rpc_error(delete(gw, "calm-otter"))
        after = await gw.get("calm-otter")

    assert (error.code(), error.details()) == (
        Code.INTERNAL,
        "delete sandbox failed: engine down",
    )
    assert after.status.phase == READY


async def test_delete_driver_error_and_gone_removes_row(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        row = await ready_sandbox(gw)
        driver.faults["delete"] = DriverError.internal("timeout")
        del driver.sandboxes[row.metadata.id]
        error = await rpc_error(delete(gw, "calm-otter"))
        remaining = await gw.store.all()

    assert error.details() == "delete sandbox failed: timeout"
    assert remaining == []


async def test_delete_driver_error_and_get_fails_restores(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        driver.faults["delete"] = DriverError.internal("timeout")
        driver.faults["get"] = DriverError(Code.UNAVAILABLE, "engine restarting")
        await rpc_error(delete(gw, "calm-otter"))
        after = await gw.get("calm-otter")

    assert after.status.phase == READY


async def test_stop_writes_stopped(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        row = await ready_sandbox(gw)
        stopped = await stop(gw, "calm-otter")
        again = await stop(gw, "calm-otter")
        await asyncio.sleep(0.05)
        later = await gw.get("calm-otter")

    assert stopped.status.phase == STOPPED
    assert ready_condition(stopped) == (
        "False",
        "Stopped",
        "Sandbox compute is stopped",
    )
    assert again == stopped
    assert later.status.phase == STOPPED
    assert driver.calls_of("stop") == [row.metadata.id]


async def test_stop_wrong_phase(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.ready_on_start = False
    async with served_gateway(tmp_path, driver) as gw:
        await gw.create("calm-otter")
        error = await rpc_error(stop(gw, "calm-otter"))

    assert error.code() == Code.FAILED_PRECONDITION
    assert error.details() == (
        "sandbox must be Ready to stop (current phase: Provisioning)"
    )


async def test_stop_driver_error_restores_ready(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        driver.faults["stop"] = DriverError(Code.UNAVAILABLE, "engine busy")
        error = await rpc_error(stop(gw, "calm-otter"))
        after = await gw.get("calm-otter")

    assert (error.code(), error.details()) == (
        Code.UNAVAILABLE,
        "stop sandbox failed: engine busy",
    )
    assert after.status.phase == READY


async def test_stop_driver_error_without_answer_keeps_stopping(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        driver.faults["stop"] = DriverError.internal("engine down")
        driver.faults["get"] = DriverError.internal("engine down")
        await rpc_error(stop(gw, "calm-otter"))
        stopping = await gw.get("calm-otter")
        del driver.faults["stop"]
        retried = await stop(gw, "calm-otter")

    assert stopping.status.phase == STOPPING
    assert ready_condition(stopping) == ("False", "Stopping", "Sandbox stop requested")
    assert retried.status.phase == STOPPED


async def test_stop_survives_client_cancel(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.stop_gate = asyncio.Event()
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        call = gw.stub.StopSandbox(api.StopSandboxRequest(name="calm-otter"))
        await wait_for(
            lambda: _true(bool(driver.calls_of("stop"))), "the driver stop call"
        )
        call.cancel()
        driver.stop_gate.set()
        stopped = await gw.wait_for_phase("calm-otter", STOPPED)

    assert ready_condition(stopped)[1] == "Stopped"


async def _true(value: bool) -> bool:
    return value


async def test_start_from_stopped(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        row = await ready_sandbox(gw)
        await stop(gw, "calm-otter")
        driver.ready_on_start = False
        started = await start(gw, "calm-otter")
        driver.state[row.metadata.id] = "running"
        driver.emit_snapshot(row.metadata.id)
        ready = await gw.wait_for_phase("calm-otter", READY)
        again = await start(gw, "calm-otter")

    assert started.status.phase == STARTING
    assert ready_condition(started) == ("False", "Starting", "Sandbox start requested")
    assert ready_condition(ready) == ("True", "ContainerRunning", "")
    assert again.status.phase == READY
    assert driver.calls_of("start") == [row.metadata.id]


async def test_start_wrong_phase(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.ready_on_start = False
    async with served_gateway(tmp_path, driver) as gw:
        await gw.create("calm-otter")
        error = await rpc_error(start(gw, "calm-otter"))

    assert error.code() == Code.FAILED_PRECONDITION
    assert error.details() == (
        "sandbox must be Stopped to start (current phase: Provisioning)"
    )


async def test_start_driver_error(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await ready_sandbox(gw)
        await stop(gw, "calm-otter")
        driver.faults["start"] = DriverError.unimplemented("method not implemented")
        error = await rpc_error(start(gw, "calm-otter"))
        after = await gw.get("calm-otter")

    assert (error.code(), error.details()) == (
        Code.UNIMPLEMENTED,
        "start sandbox failed: method not implemented",
    )
    assert after.status.phase == STOPPED


async def test_stop_in_flight_at_shutdown(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    driver.stop_gate = asyncio.Event()
    async with served_gateway(tmp_path, driver, operation_drain_timeout=0.1) as gw:
        await ready_sandbox(gw)
        call = gw.stub.StopSandbox(api.StopSandboxRequest(name="calm-otter"))
        await wait_for(
            lambda: _true(bool(driver.calls_of("stop"))), "the driver stop call"
        )
        call.cancel()
        pending = len(gw.gateway.tasks)

    reopened = open_store(f"sqlite:{tmp_path}/state/openshell.db")
    try:
        row = await reopened.get_by_name("default", "calm-otter")
    finally:
        await reopened.close()
    assert pending == 1
    assert len(gw.gateway.tasks) == 0
    assert row is not None
    assert row.status.phase == STOPPING
