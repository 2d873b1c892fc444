"""Start-up and shutdown sweeps over every stored sandbox.

At start-up the gateway first finishes stop and start requests that a
previous run left half-way (lifecycle recovery), then, for drivers whose
compute lives on the gateway host (`gateway_manages_lifecycle`), starts
every sandbox whose stored intent is to run. At shutdown those drivers get a
stop for the same sandboxes, while the stored phases stay as they are, so
the next start-up starts them again. Sandboxes stopped on request
(`STOPPED`) are never swept, so they stay stopped across restarts.
"""

from __future__ import annotations

import asyncio

import grpc
from loguru import logger

from openshell.driver import ComputeDriver
from openshell.gateway import constants as c
from openshell.gateway import phases
from openshell.gateway.log import sandbox_logger
from openshell.gateway.operations import as_driver_error
from openshell.gateway.rows import SandboxRows
from openshell.proto import openshell_pb2 as api


async def recover_lifecycle(rows: SandboxRows, driver: ComputeDriver) -> None:
    """Repeat interrupted stop and start calls, one sandbox at a time.

    A `STOPPING` row gets `StopSandbox` and is then written `STOPPED`; a
    `STARTING` row gets `StartSandbox` and keeps its phase until the backend
    reports ready. Errors are only logged; the rows keep their phase.
    """
    for row in await rows.store.all():
        sandbox_id, name = row.metadata.id, row.metadata.name
        phase = row.status.phase
        try:
            if phase == phases.STOPPING:
                await driver.stop_sandbox(sandbox_id, name)
                await rows.mutate(sandbox_id, _record_stopped)
                sandbox_logger(row).info("interrupted stop finished")
            elif phase == phases.STARTING:
                await driver.start_sandbox(sandbox_id, name)
                sandbox_logger(row).info("interrupted start repeated")
        except Exception as raw:
            error = as_driver_error(raw)
            sandbox_logger(row).bind(code=error.code.name).warning(
                "lifecycle recovery failed: {}", error.message
            )


def _record_stopped(draft: api.Sandbox) -> api.Sandbox | None:
    if draft.status.phase != phases.STOPPING:
        return None
    phases.set_phase(draft, phases.STOPPED)
    return draft


async def start_sweep(rows: SandboxRows, driver: ComputeDriver) -> int:
    """Start every sandbox whose stored intent is to run; return the failures.

    A sandbox whose backend resource is gone is marked `ERROR` with reason
    `BackendResourceMissing`; any other failure marks it `ERROR` with reason
    `StartFailed`.
    """
    started = failed = 0
    for row in await rows.store.all():
        if row.status.phase not in phases.RUNNING_INTENT_PHASES:
            continue
        try:
            await driver.start_sandbox(row.metadata.id, row.metadata.name)
        except Exception as raw:
            error = as_driver_error(raw)
            failed += 1
            if error.code == grpc.StatusCode.NOT_FOUND:
                reason = c.REASON_BACKEND_RESOURCE_MISSING
                message = c.MESSAGE_BACKEND_RESOURCE_MISSING
            else:
                reason = c.REASON_START_FAILED
                message = c.MESSAGE_START_FAILED.format(error=error.message)
            sandbox_logger(row).bind(code=error.code.name, reason=reason).warning(
                "cannot start sandbox during gateway start-up: {}", error.message
            )
            await _mark_error(rows, row, reason, message)
            continue
        started += 1
    if started or failed:
        logger.bind(started=started, failed=failed).info("start-up sweep finished")
    return failed


async def _mark_error(
    rows: SandboxRows, row: api.Sandbox, reason: str, message: str
) -> None:
    def mark(draft: api.Sandbox) -> api.Sandbox:
        phases.mark_error(draft, reason, message)
        return draft

    try:
        await rows.mutate(row.metadata.id, mark)
    except Exception as error:
        sandbox_logger(row).warning("cannot mark sandbox as failed: {}", error)


async def stop_sweep(rows: SandboxRows, driver: ComputeDriver, concurrency: int) -> int:
    """Stop every sandbox whose stored intent is to run; return the failures.

    At most `concurrency` stop calls are in flight. Stored phases do not
    change, so the start-up sweep of the next run starts them again. When the
    store cannot be read, nothing is stopped and that counts as one failure.
    """
    limit = asyncio.Semaphore(concurrency)

    async def stop_one(row: api.Sandbox) -> bool:
        async with limit:
            try:
                await driver.stop_sandbox(row.metadata.id, row.metadata.name)
            except Exception as raw:
                error = as_driver_error(raw)
                sandbox_logger(row).bind(code=error.code.name).error(
                    "cannot stop sandbox during gateway shutdown: {}", error.message
                )
                return False
            return True

    try:
        targets = [
            row
            for row in await rows.store.all()
            if row.status.phase in phases.RUNNING_INTENT_PHASES
        ]
    except Exception as error:
        logger.error("cannot read sandboxes for the shutdown sweep: {}", error)
        return 1
    results = await asyncio.gather(*(stop_one(row) for row in targets))
    failed = results.count(False)
    logger.bind(stopped=len(targets) - failed, failed=failed).info(
        "shutdown sweep finished"
    )
    return failed
