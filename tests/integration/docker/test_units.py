"""Pure parts of the Docker driver: names, quantities, checks, status and fan-out."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from openshell_driver_docker.container_spec import build_container_spec, check_sandbox
from openshell_driver_docker.hub import WatchHub
from openshell_driver_docker.naming import container_name
from openshell_driver_docker.quantity import (
    cpu_limit_to_nano_cpus,
    memory_limit_to_bytes,
)
from openshell_driver_docker.reporter import Reporter
from openshell_driver_docker.settings import DockerSettings
from openshell_driver_docker.status import observe_container, ready_condition

from openshell.errors import DriverError
from openshell.proto import compute_driver_pb2 as pb
from tests.integration.docker.support import sandbox_request

SANDBOX_ID = "6f1c2d3e-0000-4000-8000-000000000001"


def test_container_name_sanitised() -> None:
    assert (
        container_name("Team A", "My_Box!", SANDBOX_ID)
        == f"openshell-team-a--my_box-{SANDBOX_ID}"
    )
    assert container_name("", "box", SANDBOX_ID) == f"openshell-box-{SANDBOX_ID}"
    assert container_name("ws", "---", SANDBOX_ID) == f"openshell-ws--{SANDBOX_ID}"


def test_container_name_shortens_name_part() -> None:
    name = container_name("ws", "n" * 150 + "-." + "x" * 150, SANDBOX_ID)

    assert len(name) <= 200
    assert name.startswith("openshell-ws--nnn")
    assert name.endswith(f"-{SANDBOX_ID}")


def test_container_name_trims_cut_tail() -> None:
    # The cut lands right after "_-" here, which must not end the name part.
    budget = 200 - len("openshell-ws--") - len(SANDBOX_ID) - 1
    name = container_name("ws", "a" * (budget - 2) + "_-" + "b" * 20, SANDBOX_ID)

    assert name == "openshell-ws--" + "a" * (budget - 2) + f"-{SANDBOX_ID}"


@pytest.mark.parametrize(
    ("text", "nano_cpus"),
    [
        ("500m", 500_000_000),
        ("2", 2_000_000_000),
        ("0.25", 250_000_000),
        ("1e0", 10**9),
    ],
)
def test_cpu_limit_quantities(text: str, nano_cpus: int) -> None:
    assert cpu_limit_to_nano_cpus(text) == nano_cpus


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256Mi", 256 * 1024**2),
        ("1G", 10**9),
        ("1k", 1000),
        ("1K", 1000),
        ("1.5Gi", 3 * 1024**3 // 2),
        ("128974848", 128974848),
        ("129e6", 129 * 10**6),
    ],
)
def test_memory_limit_quantities(text: str, size: int) -> None:
    assert memory_limit_to_bytes(text) == size


@pytest.mark.parametrize("text", ["", "abc", "1Q", "-1", "0", "1e", "m"])
def test_invalid_quantities_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        memory_limit_to_bytes(text)


def _with_struct(sandbox: pb.DriverSandbox, field: str, key: str) -> pb.DriverSandbox:
    value = struct_pb2.Value(string_value="x")
    getattr(sandbox.spec.template, field).fields[key].CopyFrom(value)
    return sandbox


def _invalid_requests() -> list[tuple[str, pb.DriverSandbox, grpc.StatusCode, str]]:
    image = "example/image:1"
    no_spec = pb.DriverSandbox(id=SANDBOX_ID, name="demo")
    no_template = pb.DriverSandbox(id=SANDBOX_ID, spec=pb.DriverSandboxSpec())
    no_image = sandbox_request(" ")
    bad_reference = sandbox_request("BAD IMAGE!!")
    socket = sandbox_request(image)
    socket.spec.template.agent_socket_path = "/run/agent.sock"
    platform = _with_struct(sandbox_request(image), "platform_config", "annotations")
    cpu_request = sandbox_request(image)
    cpu_request.spec.template.resources.cpu_request = "1"
    memory_request = sandbox_request(image)
    memory_request.spec.template.resources.memory_request = "1Gi"
    bad_cpu = sandbox_request(image)
    bad_cpu.spec.template.resources.cpu_limit = "lots"
    bad_memory = sandbox_request(image)
    bad_memory.spec.template.resources.memory_limit = "0"
    gpu = sandbox_request(image)
    gpu.spec.resource_requirements.gpu.count = 1
    mounts = _with_struct(sandbox_request(image), "driver_config", "mounts")
    unknown = _with_struct(sandbox_request(image), "driver_config", "colour")
    bad_environment = sandbox_request(image, environment={"A=B": "c"})

    precondition = grpc.StatusCode.FAILED_PRECONDITION
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    return [
        ("no spec", no_spec, invalid, "sandbox.spec is required"),
        ("no template", no_template, invalid, "sandbox.spec.template is required"),
        (
            "no image",
            no_image,
            precondition,
            "docker sandboxes require a template image",
        ),
        (
            "invalid image reference",
            bad_reference,
            invalid,
            "invalid image reference 'BAD IMAGE!!': expected "
            "[HOST[:PORT]/]NAME[:TAG][@DIGEST] with a lower-case name",
        ),
        (
            "agent socket",
            socket,
            precondition,
            "docker compute driver does not support template.agent_socket_path",
        ),
        (
            "platform config",
            platform,
            precondition,
            "docker compute driver does not support template.platform_config",
        ),
        (
            "cpu request",
            cpu_request,
            precondition,
            "docker compute driver does not support resources.requests.cpu",
        ),
        (
            "memory request",
            memory_request,
            precondition,
            "docker compute driver does not support resources.requests.memory",
        ),
        (
            "bad cpu limit",
            bad_cpu,
            precondition,
            "invalid docker cpu_limit 'lots'; expected a quantity greater than zero "
            "such as 500m or 2",
        ),
        (
            "zero memory limit",
            bad_memory,
            precondition,
            "invalid docker memory_limit '0'; expected a quantity greater than zero "
            "such as 256Mi or 1G",
        ),
        (
            "gpu",
            gpu,
            precondition,
            "docker compute driver does not support GPU sandboxes",
        ),
        (
            "mounts",
            mounts,
            precondition,
            "docker compute driver does not support driver_config.mounts",
        ),
        (
            "unknown driver_config key",
            unknown,
            invalid,
            "unknown driver_config key 'colour' for the docker compute driver",
        ),
        (
            "environment name",
            bad_environment,
            invalid,
            "invalid environment variable name 'A=B'",
        ),
    ]


@pytest.mark.parametrize(
    ("sandbox", "code", "message"),
    [case[1:] for case in _invalid_requests()],
    ids=[case[0] for case in _invalid_requests()],
)
def test_invalid_request_codes(
    sandbox: pb.DriverSandbox, code: grpc.StatusCode, message: str
) -> None:
    with pytest.raises(DriverError) as checked:
        check_sandbox(sandbox)
    with pytest.raises(DriverError) as built:
        build_container_spec(sandbox, DockerSettings())

    assert checked.value.code == code
    assert checked.value.message == message
    assert built.value.code == code
    assert built.value.message == message


def test_token_not_in_container_spec() -> None:
    spec = build_container_spec(sandbox_request("example/image:1"), DockerSettings())

    assert "token-that-must-never-be-logged" not in repr(spec)


@pytest.mark.parametrize(
    ("state", "status", "reason", "deleting"),
    [
        ("running", "True", "BackendReady", False),
        ("created", "False", "Starting", False),
        ("restarting", "False", "ContainerRestarting", False),
        ("", "False", "Starting", False),
        ("unexpected", "False", "Starting", False),
        ("removing", "False", "Deleting", True),
        ("paused", "False", "ContainerPaused", False),
        ("exited", "False", "ContainerExited", False),
        ("dead", "False", "ContainerDead", False),
    ],
)
def test_state_to_ready_condition(
    state: str, status: str, reason: str, deleting: bool
) -> None:
    condition = ready_condition(state, None)

    assert condition.status == status
    assert condition.reason == reason
    assert condition.deleting is deleting


def _inspected(state: str, finished_at: str) -> dict[str, object]:
    return {
        "Id": "c" * 64,
        "Name": "/openshell-ws--demo-x",
        "Config": {
            "Labels": {
                "openshell.ai/sandbox-id": SANDBOX_ID,
                "openshell.ai/sandbox-name": "demo",
                "openshell.ai/sandbox-workspace": "ws",
                "openshell.ai/sandbox-namespace": "ns",
            }
        },
        "State": {
            "Status": state,
            "ExitCode": 137,
            "StartedAt": "2026-01-01T00:00:00Z",
            "FinishedAt": finished_at,
        },
    }


def test_observation_echoes_labels() -> None:
    observation = observe_container(_inspected("exited", "2026-01-01T00:01:00Z"))
    assert observation is not None
    sandbox = observation.sandbox

    assert sandbox.id == SANDBOX_ID
    assert sandbox.name == "demo"
    assert sandbox.workspace == "ws"
    assert sandbox.namespace == "ns"
    assert sandbox.status.sandbox_name == "openshell-ws--demo-x"
    assert sandbox.status.instance_id == "c" * 64
    assert sandbox.status.conditions[0].message == "Container exited with code 137"
    assert sandbox.status.conditions[0].last_transition_time == "2026-01-01T00:01:00Z"


async def test_reporter_skips_replaced_exit() -> None:
    hub = WatchHub()
    subscription = hub.subscribe()
    reporter = Reporter(hub)
    old_exit = observe_container(_inspected("exited", "2026-01-01T00:01:00Z"))
    new_exit = observe_container(_inspected("exited", "2026-01-01T00:09:00Z"))
    assert old_exit is not None
    assert new_exit is not None

    reporter.exit_replaced(SANDBOX_ID, "2026-01-01T00:01:00Z")
    reporter.observation(old_exit)
    reporter.observation(new_exit)
    hub.close()

    first = await subscription.next()
    assert first is not None
    assert first.sandbox.sandbox == new_exit.sandbox
    assert await subscription.next() is None


async def test_reporter_skips_repeats_and_removed() -> None:
    hub = WatchHub()
    subscription = hub.subscribe()
    reporter = Reporter(hub)
    observation = observe_container(_inspected("running", ""))
    assert observation is not None

    reporter.observation(observation)
    reporter.observation(observation)
    reporter.container_removed(observation.container_id)
    reporter.deleted(SANDBOX_ID)
    reporter.deleted(SANDBOX_ID)
    reporter.deleted("never-reported")
    hub.close()

    kinds = []
    while (event := await subscription.next()) is not None:
        kinds.append(event.WhichOneof("payload"))
    assert kinds == ["sandbox", "deleted"]


async def test_slow_stream_loses_events_alone() -> None:
    hub = WatchHub(queue_size=2)
    slow = hub.subscribe()
    fast = hub.subscribe()
    events = [
        pb.WatchSandboxesEvent(deleted=pb.WatchSandboxesDeletedEvent(sandbox_id=str(i)))
        for i in range(3)
    ]

    hub.publish(events[0])
    assert await fast.next() == events[0]
    hub.publish(events[1])
    assert await fast.next() == events[1]
    hub.publish(events[2])
    assert await fast.next() == events[2]

    assert slow.dropped == 1
    assert await slow.next() == events[0]
    assert await slow.next() == events[1]
