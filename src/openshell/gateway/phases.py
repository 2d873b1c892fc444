"""Phase derivation: from a driver's observed status to the stored phase.

Three pure steps, in this order:

1. `derive_backend_phase`: the phase the backend's conditions mean.
2. `resolve_readiness`: whether that makes the sandbox usable. This gateway
   has no in-sandbox supervisor, so backend ready means `READY`.
3. `apply_stored_phase`: the stored phase is the lifecycle intent and
   overrides the observation (an `ERROR` stays, a `STOPPED` row stays
   stopped while its backend still runs, and so on).

`apply_observation` runs all three against a stored row and merges the
observed status into it. The gateway's own `Ready` conditions for stop and
start are built here too.
"""

from __future__ import annotations

import time
from typing import TypeAlias

from openshell.gateway import constants as c
from openshell.gateway.translate import public_status
from openshell.proto import compute_driver_pb2 as driver_pb
from openshell.proto import openshell_pb2 as api

Phase: TypeAlias = api.SandboxPhase.ValueType

UNSPECIFIED = api.SANDBOX_PHASE_UNSPECIFIED
PROVISIONING = api.SANDBOX_PHASE_PROVISIONING
READY = api.SANDBOX_PHASE_READY
ERROR = api.SANDBOX_PHASE_ERROR
DELETING = api.SANDBOX_PHASE_DELETING
UNKNOWN = api.SANDBOX_PHASE_UNKNOWN
STOPPING = api.SANDBOX_PHASE_STOPPING
STOPPED = api.SANDBOX_PHASE_STOPPED
STARTING = api.SANDBOX_PHASE_STARTING

RUNNING_INTENT_PHASES: frozenset[Phase] = frozenset(
    {UNSPECIFIED, PROVISIONING, READY, STARTING, UNKNOWN}
)
"""Phases whose compute should run: started at start-up, stopped at shutdown."""

_DISPLAY_NAMES: dict[Phase, str] = {
    UNSPECIFIED: "Unspecified",
    PROVISIONING: "Provisioning",
    READY: "Ready",
    ERROR: "Error",
    DELETING: "Deleting",
    UNKNOWN: "Unknown",
    STOPPING: "Stopping",
    STOPPED: "Stopped",
    STARTING: "Starting",
}


def phase_display_name(phase: Phase) -> str:
    """Return the phase as error messages name it, for example `Ready`."""
    return _DISPLAY_NAMES.get(phase, "Unknown")


def is_suspended(status: driver_pb.DriverSandboxStatus) -> bool:
    """Return whether a `Suspended` condition (any case) has status `True`."""
    return any(
        cond.type.lower() == c.SUSPENDED_CONDITION and cond.status == "True"
        for cond in status.conditions
    )


def stop_in_progress(status: driver_pb.DriverSandboxStatus) -> bool:
    """Return whether `Suspended` = `False` reports a stop that is still under way."""
    return any(
        cond.type.lower() == c.SUSPENDED_CONDITION
        and cond.status == "False"
        and cond.reason.lower() in c.STOP_IN_PROGRESS_REASONS
        for cond in status.conditions
    )


def confirms_stop(status: driver_pb.DriverSandboxStatus) -> bool:
    """Return whether a `False` condition reports an exited or stopped container."""
    return any(
        cond.status == "False" and cond.reason.lower() in c.STOP_CONFIRMED_REASONS
        for cond in status.conditions
    )


def shows_stopped(status: driver_pb.DriverSandboxStatus) -> bool:
    """Return whether the backend reports its compute as stopped.

    Kubernetes-style drivers report it with `Suspended` = `True`, container
    drivers with a `ContainerExited` or `ContainerStopped` reason.
    """
    return is_suspended(status) or confirms_stop(status)


def derive_backend_phase(status: driver_pb.DriverSandboxStatus) -> Phase:
    """Return the phase that an observed backend status means by itself."""
    if status.deleting:
        return DELETING
    if is_suspended(status):
        return STOPPED
    for cond in status.conditions:
        if cond.type != c.READY_CONDITION:
            continue
        if cond.status == "True":
            return READY
        if cond.status == "False" and cond.reason.lower() not in (
            c.TRANSIENT_READY_REASONS
        ):
            return ERROR
        return PROVISIONING
    return PROVISIONING


def resolve_readiness(backend_phase: Phase) -> Phase:
    """Decide whether a backend phase makes the sandbox usable.

    Upstream also waits for an in-sandbox supervisor session and reports
    `PROVISIONING` until one connects. This gateway has no supervisor, so a
    backend that reports `Ready` = `True` is `READY`; a supervisor check
    belongs here when one exists.
    """
    return backend_phase


def apply_stored_phase(
    stored: Phase, observed: Phase, status: driver_pb.DriverSandboxStatus
) -> Phase:
    """Return the phase to store, given the stored intent and the observation."""
    if stored in (ERROR, DELETING):
        return stored
    if stored == STOPPING:
        return _stopping_outcome(observed, status)
    if stored == STOPPED:
        return STOPPED
    if stored == STARTING:
        return _starting_outcome(observed, status)
    return observed


def _starting_outcome(observed: Phase, status: driver_pb.DriverSandboxStatus) -> Phase:
    # NOTE: upstream turns any ERROR derivation into ERROR here. A container
    # driver reports a stopped container as `Ready` = `False`/`ContainerExited`,
    # which derives ERROR, and the snapshot taken by the preceding stop can
    # still be in the watch stream when the start begins. ERROR is final, so
    # such a snapshot keeps STARTING instead. The cost: a workload that exits
    # right after its start also stays STARTING rather than ERROR.
    if observed == READY:
        return READY
    if observed == ERROR and not shows_stopped(status):
        return ERROR
    return STARTING


def _stopping_outcome(observed: Phase, status: driver_pb.DriverSandboxStatus) -> Phase:
    # A stop still under way outranks both a confirmation and an error, since
    # a terminating pod can already report its container as not ready.
    if observed == STOPPED:
        return STOPPED
    if stop_in_progress(status):
        return STOPPING
    if confirms_stop(status):
        return STOPPED
    if observed == ERROR:
        return ERROR
    return STOPPING


def next_phase(stored: Phase, status: driver_pb.DriverSandboxStatus | None) -> Phase:
    """Return the phase a row gets from one observation (None: no status)."""
    if status is None:
        return stored
    observed = resolve_readiness(derive_backend_phase(status))
    return apply_stored_phase(stored, observed, status)


def gateway_ready_condition(reason: str, message: str) -> api.SandboxCondition:
    """Build the gateway's own `Ready` = `False` condition, stamped now (UTC)."""
    return api.SandboxCondition(
        type=c.READY_CONDITION,
        status=c.CONDITION_FALSE,
        reason=reason,
        message=message,
        last_transition_time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


def set_ready_condition(status: api.SandboxStatus, reason: str, message: str) -> None:
    """Replace any `Ready` condition with the gateway's, keeping its old time.

    The old transition time is kept when the reason and message are already
    the same, so that repeating a write does not change the row.
    """
    previous = [cond for cond in status.conditions if cond.type == c.READY_CONDITION]
    if previous and previous[0].reason == reason and previous[0].message == message:
        condition = api.SandboxCondition()
        condition.CopyFrom(previous[0])
        condition.status = c.CONDITION_FALSE
    else:
        condition = gateway_ready_condition(reason, message)
    kept = [cond for cond in status.conditions if cond.type != c.READY_CONDITION]
    del status.conditions[:]
    status.conditions.extend([*kept, condition])


_HELD_PHASE_CONDITIONS: dict[Phase, tuple[str, str]] = {
    STOPPING: (c.REASON_STOPPING, c.MESSAGE_STOPPING),
    STOPPED: (c.REASON_STOPPED, c.MESSAGE_STOPPED),
    STARTING: (c.REASON_STARTING, c.MESSAGE_STARTING),
}


def set_phase(sandbox: api.Sandbox, phase: Phase) -> None:
    """Set the phase, with the gateway's `Ready` condition for stop and start."""
    sandbox.status.phase = phase
    held = _HELD_PHASE_CONDITIONS.get(phase)
    if held is not None:
        set_ready_condition(sandbox.status, *held)


def mark_error(sandbox: api.Sandbox, reason: str, message: str) -> None:
    """Set `ERROR` with the gateway's `Ready` = `False` condition."""
    sandbox.status.phase = ERROR
    set_ready_condition(sandbox.status, reason, message)


def apply_observation(
    row: api.Sandbox, observed: driver_pb.DriverSandbox
) -> api.Sandbox | None:
    """Merge a driver observation into a stored row.

    Returns the new row, or None when nothing changes: rows in `DELETING`
    ignore observations, `ERROR` rows take only the observed name, and an
    observation without a status keeps the stored status.
    """
    stored = row.status.phase
    if stored == DELETING:
        return None

    updated = api.Sandbox()
    updated.CopyFrom(row)
    if observed.name:
        updated.metadata.name = observed.name

    if stored != ERROR and observed.HasField("status"):
        phase = next_phase(stored, observed.status)
        updated.status.CopyFrom(public_status(observed.status, row))
        # While the stored phase overrides the backend's view, the Ready
        # condition shows the gateway's stop or start intent.
        set_phase(updated, phase)

    return None if updated == row else updated
