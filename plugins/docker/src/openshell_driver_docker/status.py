"""Turning a container inspect result into a `DriverSandbox` observation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openshell.proto import compute_driver_pb2 as pb
from openshell_driver_docker.naming import (
    SANDBOX_ID_LABEL,
    SANDBOX_NAME_LABEL,
    SANDBOX_NAMESPACE_LABEL,
    SANDBOX_WORKSPACE_LABEL,
)

READY_CONDITION = "Ready"
STARTING_REASON = "Starting"
EXITED_STATE = "exited"

# Docker reports an unset time as the zero time of Go.
_ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class ReadyCondition:
    """The `Ready` condition reported for one container state."""

    status: str
    reason: str
    message: str
    deleting: bool = False


# Container state -> condition, as upstream's Docker driver maps them.
_CONDITIONS = {
    "running": ReadyCondition("True", "BackendReady", "Container is running"),
    "created": ReadyCondition("False", STARTING_REASON, "Container created"),
    "restarting": ReadyCondition(
        "False", "ContainerRestarting", "Container is restarting after a failure"
    ),
    "removing": ReadyCondition(
        "False", "Deleting", "Container is being removed", deleting=True
    ),
    "paused": ReadyCondition("False", "ContainerPaused", "Container is paused"),
    EXITED_STATE: ReadyCondition("False", "ContainerExited", "Container exited"),
    "dead": ReadyCondition("False", "ContainerDead", "Container is dead"),
}
_UNKNOWN_STATE = ReadyCondition("False", STARTING_REASON, "Container state is unknown")


@dataclass(frozen=True)
class Observation:
    """A sandbox snapshot together with the container facts behind it."""

    sandbox: pb.DriverSandbox
    container_id: str
    state: str
    finished_at: str


def ready_condition(state: str, exit_code: int | None) -> ReadyCondition:
    """Map a container state to the `Ready` condition; exits carry their code."""
    condition = _CONDITIONS.get(state, _UNKNOWN_STATE)
    if state == EXITED_STATE and exit_code is not None:
        return ReadyCondition(
            condition.status,
            condition.reason,
            f"Container exited with code {exit_code}",
        )
    return condition


def observe_container(info: Mapping[str, Any]) -> Observation | None:
    """Build the observation of an inspected container.

    Return None when the container lacks the sandbox ID label, because then
    it is not a sandbox this driver can report.
    """
    config = info.get("Config") or {}
    labels: Mapping[str, str] = config.get("Labels") or {}
    sandbox_id = labels.get(SANDBOX_ID_LABEL, "")
    if not sandbox_id:
        return None

    state_info = info.get("State") or {}
    state = str(state_info.get("Status") or "")
    exit_code = state_info.get("ExitCode")
    finished_at = _docker_time(state_info.get("FinishedAt"))
    condition = ready_condition(
        state, exit_code if isinstance(exit_code, int) else None
    )

    transition_time = ""
    if state == "running":
        transition_time = _docker_time(state_info.get("StartedAt"))
    elif state in (EXITED_STATE, "dead"):
        transition_time = finished_at

    container_id = str(info.get("Id") or "")
    status = pb.DriverSandboxStatus(
        sandbox_name=str(info.get("Name") or "").lstrip("/"),
        instance_id=container_id,
        conditions=[_condition_proto(condition, transition_time)],
        deleting=condition.deleting,
    )
    sandbox = pb.DriverSandbox(
        id=sandbox_id,
        name=labels.get(SANDBOX_NAME_LABEL, ""),
        namespace=labels.get(SANDBOX_NAMESPACE_LABEL, ""),
        workspace=labels.get(SANDBOX_WORKSPACE_LABEL, ""),
        status=status,
    )
    return Observation(sandbox, container_id, state, finished_at)


def pending_snapshot(
    sandbox: pb.DriverSandbox,
    *,
    namespace: str,
    container_name: str,
    condition: ReadyCondition,
) -> pb.DriverSandbox:
    """Build the observation of a sandbox whose container does not exist yet."""
    return pb.DriverSandbox(
        id=sandbox.id,
        name=sandbox.name,
        namespace=namespace,
        workspace=sandbox.workspace,
        status=pb.DriverSandboxStatus(
            sandbox_name=container_name,
            conditions=[_condition_proto(condition, "")],
        ),
    )


def _condition_proto(
    condition: ReadyCondition, transition_time: str
) -> pb.DriverCondition:
    return pb.DriverCondition(
        type=READY_CONDITION,
        status=condition.status,
        reason=condition.reason,
        message=condition.message,
        last_transition_time=transition_time,
    )


def _docker_time(value: Any) -> str:
    text = str(value or "")
    return "" if text == _ZERO_TIME else text
