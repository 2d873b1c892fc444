"""Start-up and shutdown sweeps and the watch and reconcile loops."""

from __future__ import annotations

import time
from pathlib import Path

import grpc

from openshell.errors import DriverError
from openshell.gateway import open_store, shutdown_failure_message
from openshell.gateway.store import SandboxStore
from openshell.proto import openshell_pb2 as api
from tests.unit.gateway.gateway_harness import served_gateway, wait_for
from tests.unit.gateway.scripted_driver import ScriptedDriver


def ready_condition(row: api.Sandbox) -> tuple[str, str, str]:
    conditions = [cond for cond in row.status.conditions if cond.type == "Ready"]
    assert len(conditions) == 1
    return conditions[0].status, conditions[0].reason, conditions[0].message


async def seed(
    store: SandboxStore,
    sandbox_id: str,
    phase: int,
    *,
    age_s: float = 0.0,
) -> api.Sandbox:
    row = api.Sandbox()
    row.metadata.id = sandbox_id
    row.metadata.name = f"sb-{sandbox_id}"
    row.metadata.workspace = "default"
    row.metadata.created_at_ms = int((time.time() - age_s) * 1000)
    row.status.phase = phase  # type: ignore[assignment]
    return await store.create(row)


def new_store(tmp_path: Path) -> SandboxStore:
    return open_store(f"sqlite:{tmp_path}/state/openshell.db")


async def phase_of(store: SandboxStore, sandbox_id: str) -> int | None:
    row = await store.get(sandbox_id)
    return None if row is None else row.status.phase


async def test_recovery_finishes_stop_and_start(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    store = new_store(tmp_path)
    await seed(store, "stopping", api.SANDBOX_PHASE_STOPPING)
    await seed(store, "starting", api.SANDBOX_PHASE_STARTING)
    driver.add("stopping", "sb-stopping")
    driver.add("starting", "sb-starting", state="stopped")
    driver.ready_on_start = False
    async with served_gateway(tmp_path, driver, store=store) as gw:
        stopped = await gw.store.get("stopping")
        starting_phase = await phase_of(gw.store, "starting")

    assert driver.calls_of("stop") == ["stopping"]
    assert driver.calls_of("start") == ["starting"]
    assert stopped is not None
    assert stopped.status.phase == api.SANDBOX_PHASE_STOPPED
    assert ready_condition(stopped) == (
        "False",
        "Stopped",
        "Sandbox compute is stopped",
    )
    assert starting_phase == api.SANDBOX_PHASE_STARTING


async def test_recovery_errors_keep_phase(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    driver.faults["stop"] = DriverError.internal("engine down")
    store = new_store(tmp_path)
    await seed(store, "stopping", api.SANDBOX_PHASE_STOPPING)
    driver.add("stopping", "sb-stopping")
    async with served_gateway(tmp_path, driver, store=store) as gw:
        phase = await phase_of(gw.store, "stopping")

    assert phase == api.SANDBOX_PHASE_STOPPING


async def test_start_sweep(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=True)
    store = new_store(tmp_path)
    running_intent = {
        "unspecified": api.SANDBOX_PHASE_UNSPECIFIED,
        "provisioning": api.SANDBOX_PHASE_PROVISIONING,
        "ready": api.SANDBOX_PHASE_READY,
        "unknown": api.SANDBOX_PHASE_UNKNOWN,
    }
    left_alone = {
        "stopped": api.SANDBOX_PHASE_STOPPED,
        "error": api.SANDBOX_PHASE_ERROR,
        "deleting": api.SANDBOX_PHASE_DELETING,
    }
    for sandbox_id, phase in {**running_intent, **left_alone}.items():
        await seed(store, sandbox_id, phase)
        driver.add(sandbox_id, f"sb-{sandbox_id}", state="stopped")
    async with served_gateway(tmp_path, driver, store=store):
        started = set(driver.calls_of("start"))

    assert started == set(running_intent)


async def test_start_sweep_failure_marks_error(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=True)
    driver.faults["start"] = DriverError(grpc.StatusCode.UNAVAILABLE, "no engine")
    store = new_store(tmp_path)
    await seed(store, "broken", api.SANDBOX_PHASE_READY)
    driver.add("broken", "sb-broken", state="stopped")
    async with served_gateway(tmp_path, driver, store=store) as gw:
        broken = await gw.store.get("broken")

    assert broken is not None
    assert broken.status.phase == api.SANDBOX_PHASE_ERROR
    assert ready_condition(broken) == (
        "False",
        "StartFailed",
        "Failed to start sandbox during gateway startup: no engine",
    )


async def test_start_sweep_missing_backend(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=True)
    store = new_store(tmp_path)
    await seed(store, "missing", api.SANDBOX_PHASE_READY)
    async with served_gateway(tmp_path, driver, store=store) as gw:
        missing = await gw.store.get("missing")

    assert missing is not None
    assert missing.status.phase == api.SANDBOX_PHASE_ERROR
    assert ready_condition(missing) == (
        "False",
        "BackendResourceMissing",
        "Sandbox compute resource disappeared while the gateway was offline",
    )


async def test_no_sweeps_without_lifecycle_flag(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    store = new_store(tmp_path)
    await seed(store, "ready", api.SANDBOX_PHASE_READY)
    driver.add("ready", "sb-ready")
    async with served_gateway(tmp_path, driver, store=store) as gw:
        pass

    assert driver.calls_of("start") == []
    assert driver.calls_of("stop") == []
    assert gw.stop_failures == [0]


async def test_shutdown_sweep_keeps_phases(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=True)
    store = new_store(tmp_path)
    await seed(store, "ready", api.SANDBOX_PHASE_READY)
    await seed(store, "stopped", api.SANDBOX_PHASE_STOPPED)
    driver.add("ready", "sb-ready")
    driver.add("stopped", "sb-stopped", state="stopped")
    async with served_gateway(tmp_path, driver, store=store) as gw:
        pass

    assert driver.calls_of("stop") == ["ready"]
    assert gw.stop_failures == [0]
    reopened = new_store(tmp_path)
    try:
        assert await phase_of(reopened, "ready") == api.SANDBOX_PHASE_READY
        assert await phase_of(reopened, "stopped") == api.SANDBOX_PHASE_STOPPED
    finally:
        await reopened.close()


async def test_shutdown_sweep_counts_failures(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=True)
    store = new_store(tmp_path)
    for index in range(20):
        await seed(store, f"r{index:02d}", api.SANDBOX_PHASE_READY)
        driver.add(f"r{index:02d}", f"sb-r{index:02d}")
    async with served_gateway(tmp_path, driver, store=store) as gw:
        driver.faults["stop"] = DriverError.internal("engine down")

    assert len(driver.calls_of("stop")) == 20
    assert gw.stop_failures == [20]
    assert shutdown_failure_message(20) == (
        "failed to stop 20 sandbox(es) during gateway shutdown"
    )


async def test_watch_resubscribes_after_clean_end(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await wait_for(lambda: _streams(driver, 1), "the first watch stream")
        driver.end_streams()
        await wait_for(lambda: _streams(driver, 2), "a second watch stream")
        await gw.create("calm-otter")
        ready = await gw.wait_for_phase("calm-otter", api.SANDBOX_PHASE_READY)

    assert ready.status.phase == api.SANDBOX_PHASE_READY


async def _streams(driver: ScriptedDriver, count: int) -> bool:
    return driver.streams_opened >= count and len(driver._streams) == 1


async def test_watch_resubscribes_after_errors(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.stream_fault = DriverError(grpc.StatusCode.UNIMPLEMENTED, "no watch")
    async with served_gateway(tmp_path, driver) as gw:
        await wait_for(
            lambda: _true(driver.streams_opened >= 3), "repeated watch attempts"
        )
        driver.stream_fault = None
        await wait_for(lambda: _streams(driver, 4), "a working watch stream")
        await gw.create("calm-otter")
        ready = await gw.wait_for_phase("calm-otter", api.SANDBOX_PHASE_READY)

    assert ready.status.phase == api.SANDBOX_PHASE_READY


async def _true(value: bool) -> bool:
    return value


async def test_watch_snapshot_on_resubscribe_repairs_row(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        await wait_for(lambda: _streams(driver, 1), "the first watch stream")
        driver.stream_fault = DriverError.internal("gone")
        driver.end_streams()
        await wait_for(lambda: _true(driver.streams_opened >= 2), "a failed retry")
        driver.ready_on_start = True
        row = await gw.create("calm-otter")
        provisioning = await phase_of(gw.store, row.metadata.id)
        driver.stream_fault = None
        ready = await gw.wait_for_phase("calm-otter", api.SANDBOX_PHASE_READY)

    assert provisioning == api.SANDBOX_PHASE_PROVISIONING
    assert ready.metadata.id == row.metadata.id


async def test_reconcile_prunes_old_missing_rows(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    store = new_store(tmp_path)
    await seed(store, "old-ready", api.SANDBOX_PHASE_READY, age_s=400)
    await seed(store, "old-deleting", api.SANDBOX_PHASE_DELETING, age_s=400)
    await seed(store, "old-stopped", api.SANDBOX_PHASE_STOPPED, age_s=400)
    await seed(store, "old-starting", api.SANDBOX_PHASE_STARTING, age_s=400)
    await seed(store, "young-ready", api.SANDBOX_PHASE_READY, age_s=10)
    async with served_gateway(tmp_path, driver, store=store, start=False) as gw:
        await gw.gateway.reconciler.sweep()
        remaining = {row.metadata.id: row for row in await gw.store.all()}

    assert set(remaining) == {"old-stopped", "old-starting", "young-ready"}
    for sandbox_id in ("old-stopped", "old-starting"):
        row = remaining[sandbox_id]
        assert row.status.phase == api.SANDBOX_PHASE_ERROR
        assert ready_condition(row)[:2] == ("False", "ComputeResourceMissing")
    assert remaining["young-ready"].status.phase == api.SANDBOX_PHASE_READY


async def test_reconcile_keeps_rows_the_driver_still_finds(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    store = new_store(tmp_path)
    await seed(store, "hidden", api.SANDBOX_PHASE_PROVISIONING, age_s=400)
    async with served_gateway(tmp_path, driver, store=store, start=False) as gw:
        # ListSandboxes leaves it out but GetSandbox returns it: the row is refreshed.
        driver.add("hidden", "sb-hidden")
        original_list = driver.list_sandboxes

        async def list_without_hidden() -> list:  # type: ignore[type-arg]
            return [s for s in await original_list() if s.id != "hidden"]

        driver.list_sandboxes = list_without_hidden  # type: ignore[method-assign]
        await gw.gateway.reconciler.sweep()
        phase = await phase_of(gw.store, "hidden")

    assert phase == api.SANDBOX_PHASE_READY


async def test_reconcile_refreshes_listed_rows(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    store = new_store(tmp_path)
    await seed(store, "listed", api.SANDBOX_PHASE_PROVISIONING)
    driver.add("listed", "sb-listed")
    async with served_gateway(tmp_path, driver, store=store, start=False) as gw:
        await gw.gateway.reconciler.sweep()
        row = await gw.store.get("listed")

    assert driver.calls_of("get") == ["listed"]
    assert row is not None
    assert row.status.phase == api.SANDBOX_PHASE_READY
    assert row.status.sandbox_name == "backend-sb-listed"


async def test_reconcile_listed_then_gone(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    store = new_store(tmp_path)
    await seed(store, "listed", api.SANDBOX_PHASE_READY)
    driver.add("listed", "sb-listed")
    driver.faults["get"] = DriverError.not_found()
    async with served_gateway(tmp_path, driver, store=store, start=False) as gw:
        await gw.gateway.reconciler.sweep()
        phase = await phase_of(gw.store, "listed")

    assert gw.gateway.reconciler.sweeps_finished == 1
    assert phase == api.SANDBOX_PHASE_READY


async def test_reconcile_list_failure_changes_nothing(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    driver.faults["list"] = DriverError.unimplemented("no list")
    store = new_store(tmp_path)
    await seed(store, "old", api.SANDBOX_PHASE_READY, age_s=400)
    async with served_gateway(tmp_path, driver, store=store, start=False) as gw:
        await gw.gateway.reconciler.sweep()
        phase = await phase_of(gw.store, "old")

    assert phase == api.SANDBOX_PHASE_READY
    assert gw.gateway.reconciler.sweeps_finished == 0


async def test_reconcile_runs_at_start(tmp_path: Path) -> None:
    driver = ScriptedDriver(manages_lifecycle=False)
    async with served_gateway(tmp_path, driver, reconcile_interval=0.05) as gw:
        await wait_for(
            lambda: _true(gw.gateway.reconciler.sweeps_finished >= 2),
            "two reconcile sweeps",
        )
        calls = driver.calls_of("list")

    assert len(calls) >= 2
