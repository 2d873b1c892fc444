"""The sandbox lifecycle requests of the public API: create, stop, start, delete.

Each method checks the request, writes the stored phase that records the
intent, calls the driver, and writes the outcome. Failures are raised as
`ApiError` with the code and message returned to the client. Driver calls after the
first write run through `BackgroundTasks`, so a client that cancels cannot
leave a row half-way.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import grpc

from openshell.driver import ComputeDriver
from openshell.errors import DriverError
from openshell.gateway import phases
from openshell.gateway.errors import ApiError, NameConflictError
from openshell.gateway.log import sandbox_logger as _log
from openshell.gateway.phases import Phase
from openshell.gateway.rows import SandboxRows
from openshell.gateway.tasks import BackgroundTasks
from openshell.gateway.translate import driver_sandbox
from openshell.gateway.validation import (
    generate_sandbox_name,
    require_name,
    resolve_workspace,
    validate_create_request,
)
from openshell.proto import compute_driver_pb2 as driver_pb
from openshell.proto import datamodel_pb2
from openshell.proto import openshell_pb2 as api


def as_driver_error(error: Exception) -> DriverError:
    """Return a driver failure as `DriverError`; other exceptions are INTERNAL."""
    if isinstance(error, DriverError):
        return error
    return DriverError.internal(str(error) or type(error).__name__)


class SandboxOperations:
    """Create, stop, start and delete sandboxes through one driver."""

    def __init__(
        self,
        rows: SandboxRows,
        driver: ComputeDriver,
        driver_name: str,
        capabilities: driver_pb.GetCapabilitiesResponse,
        tasks: BackgroundTasks,
    ) -> None:
        self._rows = rows
        self._driver = driver
        self._driver_name = driver_name
        self._capabilities = capabilities
        self._tasks = tasks
        # Sandbox ID -> set once the driver's CreateSandbox call has returned.
        # A delete waits for it, because a driver asked to delete a sandbox it
        # is still creating would report "nothing to delete" and the create
        # would then leave a backend resource without a row.
        self._creating: dict[str, asyncio.Event] = {}

    async def find(self, name: str, workspace: str) -> api.Sandbox:
        """Return the row a name lookup means, or raise the lookup's error."""
        require_name(name)
        resolved = resolve_workspace(workspace)
        row = await self._rows.store.get_by_name(resolved, name)
        if row is None:
            raise ApiError.not_found("sandbox not found")
        return row

    async def create(self, request: api.CreateSandboxRequest) -> api.Sandbox:
        validate_create_request(request)
        workspace = resolve_workspace(request.workspace)
        for provider in request.spec.providers:
            # No provider can exist: this gateway has no provider store.
            raise ApiError.failed_precondition(f"provider '{provider}' not found")

        sandbox = self._new_row(request, workspace)
        proposal = driver_sandbox(sandbox, self._driver_name)
        try:
            await self._driver.validate_sandbox_create(proposal)
        except Exception as raw:
            error = as_driver_error(raw)
            _log(sandbox).bind(code=error.code.name).warning(
                "driver rejected sandbox create: {}", error.message
            )
            raise ApiError(error.code, error.message) from raw

        try:
            stored = await self._rows.create(sandbox)
        except NameConflictError as conflict:
            raise ApiError(
                grpc.StatusCode.ALREADY_EXISTS,
                f"sandbox '{sandbox.metadata.name}' already exists",
            ) from conflict
        self._creating[stored.metadata.id] = asyncio.Event()
        await self._tasks.run(
            self._provision(stored, proposal), f"create {stored.metadata.id}"
        )
        _log(stored).info("sandbox created")
        return stored

    def _new_row(
        self, request: api.CreateSandboxRequest, workspace: str
    ) -> api.Sandbox:
        sandbox = api.Sandbox(
            metadata=datamodel_pb2.ObjectMeta(
                id=str(uuid.uuid4()),
                name=request.name or generate_sandbox_name(),
                created_at_ms=int(time.time() * 1000),
                labels=dict(request.labels),
                annotations=dict(request.annotations),
                workspace=workspace,
            ),
            spec=request.spec,
        )
        if not sandbox.spec.template.image:
            sandbox.spec.template.image = self._capabilities.default_image
        sandbox.status.phase = phases.PROVISIONING
        return sandbox

    async def _provision(
        self, stored: api.Sandbox, proposal: driver_pb.DriverSandbox
    ) -> None:
        try:
            await self._call_create(stored, proposal)
        finally:
            self._create_finished(stored.metadata.id)

    async def _call_create(
        self, stored: api.Sandbox, proposal: driver_pb.DriverSandbox
    ) -> None:
        try:
            await self._driver.create_sandbox(proposal)
        except Exception as raw:
            error = as_driver_error(raw)
            await self._rows.remove(stored.metadata.id)
            _log(stored).bind(code=error.code.name).warning(
                "driver failed to create sandbox, row removed: {}", error.message
            )
            if error.code == grpc.StatusCode.ALREADY_EXISTS:
                raise ApiError(error.code, "sandbox already exists") from raw
            if error.code == grpc.StatusCode.FAILED_PRECONDITION:
                raise ApiError(error.code, error.message) from raw
            raise ApiError.internal(f"create sandbox failed: {error.message}") from raw

    def _create_finished(self, sandbox_id: str) -> None:
        finished = self._creating.pop(sandbox_id, None)
        if finished is not None:
            finished.set()

    async def delete(self, name: str, workspace: str) -> bool:
        """Delete a sandbox; return whether a backend resource was removed."""
        row = await self.find(name, workspace)
        if row.status.phase == phases.DELETING:
            return True

        def mark_deleting(draft: api.Sandbox) -> api.Sandbox:
            draft.status.phase = phases.DELETING
            return draft

        if await self._rows.mutate(row.metadata.id, mark_deleting) is None:
            raise ApiError.not_found("sandbox not found")
        return await self._tasks.run(
            self._delete_in_driver(row), f"delete {row.metadata.id}"
        )

    async def _delete_in_driver(self, previous: api.Sandbox) -> bool:
        sandbox_id, name = previous.metadata.id, previous.metadata.name
        creating = self._creating.get(sandbox_id)
        if creating is not None:
            _log(previous).info("delete waits for the sandbox's create to return")
            await creating.wait()
        try:
            deleted = await self._driver.delete_sandbox(sandbox_id, name)
        except Exception as raw:
            error = as_driver_error(raw)
            _log(previous).bind(code=error.code.name).warning(
                "driver failed to delete sandbox: {}", error.message
            )
            await self._recover_after_delete_failure(previous)
            raise ApiError.internal(f"delete sandbox failed: {error.message}") from raw

        if deleted:
            _log(previous).info("sandbox deletion started")
            return True
        await self._rows.remove(sandbox_id)
        _log(previous).info("sandbox removed; the driver had no resources for it")
        return False

    async def _recover_after_delete_failure(self, previous: api.Sandbox) -> None:
        """Bring a row back in line with the backend after a failed delete."""
        sandbox_id, name = previous.metadata.id, previous.metadata.name
        try:
            observed = await self._driver.get_sandbox(sandbox_id, name)
        except DriverError as error:
            if error.code == grpc.StatusCode.NOT_FOUND:
                await self._rows.remove(sandbox_id)
                _log(previous).info("sandbox removed; its backend resource is gone")
                return
            await self._rows.restore(previous)
            return
        except Exception:
            await self._rows.restore(previous)
            return
        await self._rows.restore(previous)
        await self._rows.apply_observation(observed)

    async def stop(self, name: str, workspace: str) -> api.Sandbox:
        row = await self.find(name, workspace)
        if row.status.phase == phases.STOPPED:
            return row
        return await self._transition(
            row,
            allowed=(phases.READY, phases.STOPPING),
            pending=phases.STOPPING,
            done=phases.STOPPED,
            opposite=phases.READY,
            requirement="sandbox must be Ready to stop",
            call=self._driver.stop_sandbox,
            verb="stop",
        )

    async def start(self, name: str, workspace: str) -> api.Sandbox:
        row = await self.find(name, workspace)
        if row.status.phase == phases.READY:
            return row
        return await self._transition(
            row,
            allowed=(phases.STOPPED, phases.STARTING),
            pending=phases.STARTING,
            done=phases.READY,
            opposite=phases.STOPPED,
            requirement="sandbox must be Stopped to start",
            call=self._driver.start_sandbox,
            verb="start",
        )

    async def _transition(
        self,
        row: api.Sandbox,
        *,
        allowed: tuple[Phase, Phase],
        pending: Phase,
        done: Phase,
        opposite: Phase,
        requirement: str,
        call: Callable[[str, str], Awaitable[None]],
        verb: str,
    ) -> api.Sandbox:
        """Write the pending phase, call the driver, then record the outcome.

        A stop is done when the driver returns, so the row is written
        `STOPPED`. A start is done only when the backend reports ready, so
        the row stays `STARTING` until an observation reports READY or ERROR.
        """

        def mark_pending(draft: api.Sandbox) -> api.Sandbox | None:
            if draft.status.phase not in allowed:
                return None
            phases.set_phase(draft, pending)
            return draft

        marked = await self._rows.mutate(row.metadata.id, mark_pending)
        if marked is None:
            raise ApiError.not_found("sandbox not found")
        if marked.status.phase == done:
            # Already stopped (or ready): the request is idempotent.
            return marked
        if marked.status.phase != pending:
            phase_name = phases.phase_display_name(marked.status.phase)
            raise ApiError.failed_precondition(
                f"{requirement} (current phase: {phase_name})"
            )

        async def call_driver() -> api.Sandbox:
            return await self._finish_transition(
                row, pending, done, opposite, call, verb
            )

        return await self._tasks.run(call_driver(), f"{verb} {row.metadata.id}")

    async def _finish_transition(
        self,
        previous: api.Sandbox,
        pending: Phase,
        done: Phase,
        opposite: Phase,
        call: Callable[[str, str], Awaitable[None]],
        verb: str,
    ) -> api.Sandbox:
        sandbox_id, name = previous.metadata.id, previous.metadata.name
        try:
            await call(sandbox_id, name)
        except Exception as raw:
            error = as_driver_error(raw)
            _log(previous).bind(code=error.code.name).warning(
                "driver failed to {} sandbox: {}", verb, error.message
            )
            await self._recover_after_transition_failure(previous, done, opposite)
            raise ApiError(
                error.code, f"{verb} sandbox failed: {error.message}"
            ) from raw

        def record_stop(draft: api.Sandbox) -> api.Sandbox | None:
            if draft.status.phase != pending:
                return None
            phases.set_phase(draft, done)
            return draft

        if done == phases.STOPPED:
            current = await self._rows.mutate(sandbox_id, record_stop)
        else:
            current = await self._rows.store.get(sandbox_id)
        if current is None:
            raise ApiError.not_found("sandbox not found")
        _log(current).bind(phase=phases.phase_display_name(current.status.phase)).info(
            "sandbox {} call finished", verb
        )
        return current

    async def _recover_after_transition_failure(
        self, previous: api.Sandbox, done: Phase, opposite: Phase
    ) -> None:
        """Settle a row after a failed stop or start, from one fresh observation.

        An observation showing the goal (or `ERROR`) is applied. One showing
        the opposite state restores the row as it was before the request. When
        `GetSandbox` fails, the pending phase stays for a later retry.
        """
        sandbox_id, name = previous.metadata.id, previous.metadata.name
        try:
            observed = await self._driver.get_sandbox(sandbox_id, name)
        except Exception as raw:
            error = as_driver_error(raw)
            _log(previous).bind(code=error.code.name).info(
                "cannot read sandbox after a failed call; keeping its phase: {}",
                error.message,
            )
            return
        if observed.HasField("status") and _shows(observed.status, opposite):
            await self._rows.restore(previous)
            return
        await self._rows.apply_observation(observed)


def _shows(status: driver_pb.DriverSandboxStatus, phase: Phase) -> bool:
    """Return whether an observed status shows the sandbox in `phase`."""
    if phase == phases.STOPPED:
        return phases.shows_stopped(status)
    derived = phases.resolve_readiness(phases.derive_backend_phase(status))
    return bool(derived == phase)
