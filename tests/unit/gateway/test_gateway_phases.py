"""Phase derivation, readiness and stored-phase overrides, rule by rule."""

from __future__ import annotations

import pytest

from openshell.gateway import phases
from openshell.gateway.phases import (
    DELETING,
    ERROR,
    PROVISIONING,
    READY,
    STARTING,
    STOPPED,
    STOPPING,
    UNKNOWN,
    UNSPECIFIED,
)
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import openshell_pb2 as api

Condition = tuple[str, str, str]


def status(*conditions: Condition, deleting: bool = False) -> pb.DriverSandboxStatus:
    result = pb.DriverSandboxStatus(deleting=deleting)
    for kind, value, reason in conditions:
        result.conditions.add(type=kind, status=value, reason=reason)
    return result


READY_TRUE = ("Ready", "True", "ContainerRunning")
SUSPENDED = ("Suspended", "True", "PodTerminated")

BACKEND_CASES: list[tuple[str, pb.DriverSandboxStatus, int]] = [
    ("deleting wins over ready", status(READY_TRUE, deleting=True), DELETING),
    ("suspended true", status(SUSPENDED, READY_TRUE), STOPPED),
    ("suspended any case", status(("SUSPENDED", "True", "")), STOPPED),
    ("suspended false is ignored", status(("Suspended", "False", "x")), PROVISIONING),
    ("ready true", status(READY_TRUE), READY),
    ("ready type is case-sensitive", status(("ready", "True", "")), PROVISIONING),
    ("ready unknown", status(("Ready", "Unknown", "Pending")), PROVISIONING),
    ("no conditions", status(), PROVISIONING),
    ("other types only", status(("Stopped", "True", "VmStopped")), PROVISIONING),
    ("first ready decides", status(READY_TRUE, ("Ready", "False", "Crash")), READY),
    ("terminal reason", status(("Ready", "False", "ImagePullBackOff")), ERROR),
    (
        "container exited is terminal",
        status(("Ready", "False", "ContainerExited")),
        ERROR,
    ),
]
BACKEND_CASES += [
    (f"transient {reason}", status(("Ready", "False", reason)), PROVISIONING)
    for reason in (
        "ReconcilerError",
        "DependenciesNotReady",
        "SupervisorNotConnected",
        "Starting",
        "containerstarting",
        "ContainerCreated",
        "HealthcheckStarting",
        "InspectFailed",
    )
]


@pytest.mark.parametrize(
    ("observed", "expected"),
    [case[1:] for case in BACKEND_CASES],
    ids=[case[0] for case in BACKEND_CASES],
)
def test_backend_phase(observed: pb.DriverSandboxStatus, expected: int) -> None:
    assert phases.derive_backend_phase(observed) == expected


def test_readiness_backend_ready_is_ready() -> None:
    assert phases.resolve_readiness(READY) == READY
    assert phases.resolve_readiness(PROVISIONING) == PROVISIONING


STOP_IN_PROGRESS = ("Suspended", "False", "PodTerminating")
STOP_CONFIRMED = ("Ready", "False", "ContainerStopped")

OVERRIDE_CASES: list[tuple[str, int, pb.DriverSandboxStatus | None, int]] = [
    ("no status keeps phase", READY, None, READY),
    ("no status keeps stopping", STOPPING, None, STOPPING),
    ("error is frozen", ERROR, status(READY_TRUE), ERROR),
    ("deleting is kept", DELETING, status(READY_TRUE), DELETING),
    ("stopping to stopped by suspended", STOPPING, status(SUSPENDED), STOPPED),
    ("stopping to stopped by exit", STOPPING, status(STOP_CONFIRMED), STOPPED),
    (
        "stopping to stopped by exit any type",
        STOPPING,
        status(("Running", "False", "containerexited")),
        STOPPED,
    ),
    (
        "stop in progress outranks confirmation",
        STOPPING,
        status(STOP_IN_PROGRESS, STOP_CONFIRMED),
        STOPPING,
    ),
    (
        "stop in progress outranks error",
        STOPPING,
        status(STOP_IN_PROGRESS, ("Ready", "False", "ContainersNotReady")),
        STOPPING,
    ),
    ("stopping ignores ready", STOPPING, status(READY_TRUE), STOPPING),
    ("stopping ignores deleting", STOPPING, status(deleting=True), STOPPING),
    ("stopping to error", STOPPING, status(("Ready", "False", "Crash")), ERROR),
    ("stopped stays while running", STOPPED, status(READY_TRUE), STOPPED),
    ("stopped stays on error", STOPPED, status(("Ready", "False", "Crash")), STOPPED),
    ("starting stays while stopped", STARTING, status(SUSPENDED), STARTING),
    ("starting stays provisioning", STARTING, status(), STARTING),
    ("starting to ready", STARTING, status(READY_TRUE), READY),
    ("starting to error", STARTING, status(("Ready", "False", "Crash")), ERROR),
    (
        "starting keeps a stale exited snapshot",
        STARTING,
        status(("Ready", "False", "ContainerExited")),
        STARTING,
    ),
    ("provisioning to ready", PROVISIONING, status(READY_TRUE), READY),
    (
        "ready to provisioning",
        READY,
        status(("Ready", "False", "Starting")),
        PROVISIONING,
    ),
    ("ready to stopped by backend", READY, status(SUSPENDED), STOPPED),
    ("ready to deleting", READY, status(deleting=True), DELETING),
    ("unknown to ready", UNKNOWN, status(READY_TRUE), READY),
    ("unspecified to error", UNSPECIFIED, status(("Ready", "False", "Crash")), ERROR),
]


@pytest.mark.parametrize(
    ("stored", "observed", "expected"),
    [case[1:] for case in OVERRIDE_CASES],
    ids=[case[0] for case in OVERRIDE_CASES],
)
def test_next_phase(
    stored: int, observed: pb.DriverSandboxStatus | None, expected: int
) -> None:
    assert phases.next_phase(stored, observed) == expected  # type: ignore[arg-type]


def make_row(phase: int) -> api.Sandbox:
    row = api.Sandbox()
    row.metadata.id = "8f8e2f7c-0000-4000-8000-000000000001"
    row.metadata.name = "calm-otter"
    row.metadata.resource_version = 3
    row.status.phase = phase  # type: ignore[assignment]
    row.status.current_policy_version = 4
    row.status.main_process_instance_id = "main-1"
    row.status.exit_code = 137
    return row


def observed_sandbox(*conditions: Condition) -> pb.DriverSandbox:
    sandbox = pb.DriverSandbox(id="8f8e2f7c-0000-4000-8000-000000000001")
    sandbox.name = "calm-otter"
    sandbox.status.CopyFrom(status(*conditions))
    sandbox.status.instance_id = "container-1"
    return sandbox


def test_observation_replaces_status_keeps_gateway_fields() -> None:
    row = make_row(PROVISIONING)

    updated = phases.apply_observation(row, observed_sandbox(READY_TRUE))

    assert updated is not None
    assert updated.status.phase == READY
    assert updated.status.agent_pod == "container-1"
    assert updated.status.sandbox_name == "calm-otter"
    assert [cond.reason for cond in updated.status.conditions] == ["ContainerRunning"]
    assert updated.status.current_policy_version == 4
    assert updated.status.main_process_instance_id == "main-1"
    assert updated.status.exit_code == 137


def test_observation_ignored_while_deleting() -> None:
    assert phases.apply_observation(make_row(DELETING), observed_sandbox()) is None


def test_observation_same_twice_is_no_change() -> None:
    row = make_row(PROVISIONING)
    updated = phases.apply_observation(row, observed_sandbox(READY_TRUE))
    assert updated is not None

    assert phases.apply_observation(updated, observed_sandbox(READY_TRUE)) is None


def test_observation_on_error_updates_name_only() -> None:
    row = make_row(ERROR)
    observed = observed_sandbox(READY_TRUE)
    observed.name = "renamed"

    updated = phases.apply_observation(row, observed)

    assert updated is not None
    assert updated.metadata.name == "renamed"
    assert updated.status == row.status


def test_observation_on_stopped_keeps_stopped_condition() -> None:
    row = make_row(STOPPED)
    phases.set_phase(row, STOPPED)

    updated = phases.apply_observation(row, observed_sandbox(READY_TRUE))

    assert updated is not None
    assert updated.status.phase == STOPPED
    ready = [cond for cond in updated.status.conditions if cond.type == "Ready"]
    assert len(ready) == 1
    assert ready[0].status == "False"
    assert ready[0].reason == "Stopped"
    assert ready[0].message == "Sandbox compute is stopped"


@pytest.mark.parametrize(
    ("phase", "reason", "message"),
    [
        (STOPPING, "Stopping", "Sandbox stop requested"),
        (STOPPED, "Stopped", "Sandbox compute is stopped"),
        (STARTING, "Starting", "Sandbox start requested"),
    ],
)
def test_set_phase_writes_ready_condition(
    phase: int, reason: str, message: str
) -> None:
    row = make_row(READY)
    row.status.conditions.add(type="Ready", status="True", reason="ContainerRunning")
    row.status.conditions.add(type="Scheduled", status="True")

    phases.set_phase(row, phase)  # type: ignore[arg-type]

    assert row.status.phase == phase
    ready = [cond for cond in row.status.conditions if cond.type == "Ready"]
    assert [(c.status, c.reason, c.message) for c in ready] == [
        ("False", reason, message)
    ]
    assert ready[0].last_transition_time.endswith("Z")
    assert [cond.type for cond in row.status.conditions] == ["Scheduled", "Ready"]


@pytest.mark.parametrize(
    ("phase", "name"),
    [
        (UNSPECIFIED, "Unspecified"),
        (PROVISIONING, "Provisioning"),
        (READY, "Ready"),
        (ERROR, "Error"),
        (DELETING, "Deleting"),
        (UNKNOWN, "Unknown"),
        (STOPPING, "Stopping"),
        (STOPPED, "Stopped"),
        (STARTING, "Starting"),
    ],
)
def test_phase_display_name(phase: int, name: str) -> None:
    assert phases.phase_display_name(phase) == name  # type: ignore[arg-type]
