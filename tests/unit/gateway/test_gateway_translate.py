"""Public sandbox to DriverSandbox, and driver status back to public status."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from openshell.gateway.errors import ApiError
from openshell.gateway.translate import driver_sandbox, platform_event, public_status
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import openshell_pb2 as api


def make_sandbox() -> api.Sandbox:
    sandbox = api.Sandbox()
    sandbox.metadata.id = "2b0c8a4e-1111-4000-8000-000000000002"
    sandbox.metadata.name = "quick-heron"
    sandbox.metadata.workspace = "default"
    sandbox.metadata.labels["team"] = "infra"
    sandbox.metadata.annotations["note"] = "kept in the gateway"
    sandbox.spec.log_level = "debug"
    sandbox.spec.environment["MODE"] = "test"
    sandbox.spec.template.image = "registry.test/agent:2"
    return sandbox


def struct(value: dict[str, object]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def test_identity_and_spec_copied() -> None:
    sandbox = make_sandbox()
    sandbox.spec.command.extend(["python", "-m", "agent"])
    sandbox.spec.tty = True
    sandbox.spec.resource_requirements.gpu.count = 2
    sandbox.spec.template.agent_socket = "/run/agent.sock"
    sandbox.spec.template.labels["tier"] = "gold"
    sandbox.spec.template.environment["EXTRA"] = "1"

    result = driver_sandbox(sandbox, "docker")

    assert (result.id, result.name, result.workspace) == (
        "2b0c8a4e-1111-4000-8000-000000000002",
        "quick-heron",
        "default",
    )
    assert result.namespace == ""
    assert result.spec.log_level == "debug"
    assert dict(result.spec.environment) == {"MODE": "test"}
    assert list(result.spec.command) == ["python", "-m", "agent"]
    assert result.spec.tty is True
    assert result.spec.resource_requirements.gpu.count == 2
    assert result.spec.sandbox_token == ""
    assert result.spec.template.image == "registry.test/agent:2"
    assert result.spec.template.agent_socket_path == "/run/agent.sock"
    assert dict(result.spec.template.labels) == {"tier": "gold"}
    assert dict(result.spec.template.environment) == {"EXTRA": "1"}
    assert result.HasField("status")
    assert len(result.status.conditions) == 0


def test_empty_command_stays_empty() -> None:
    result = driver_sandbox(make_sandbox(), "docker")

    assert list(result.spec.command) == []
    assert result.spec.tty is False


def test_gpu_presence_without_count() -> None:
    sandbox = make_sandbox()
    sandbox.spec.resource_requirements.gpu.SetInParent()

    result = driver_sandbox(sandbox, "docker")

    assert result.spec.resource_requirements.HasField("gpu")
    assert not result.spec.resource_requirements.gpu.HasField("count")


def test_no_gpu_request_leaves_field_absent() -> None:
    result = driver_sandbox(make_sandbox(), "docker")

    assert not result.spec.HasField("resource_requirements")


def test_selector_labels_not_sent() -> None:
    result = driver_sandbox(make_sandbox(), "docker")

    assert "team" not in result.spec.template.labels
    assert not result.spec.template.HasField("platform_config")


def test_typed_resources_and_raw_rest() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.resources.CopyFrom(
        struct(
            {
                "requests": {"cpu": "500m", "memory": "256Mi", "nvidia.com/gpu": "1"},
                "limits": {"cpu": "2", "memory": "4Gi"},
                "claims": ["fast-disk"],
            }
        )
    )

    result = driver_sandbox(sandbox, "docker")

    resources = result.spec.template.resources
    assert resources.cpu_request == "500m"
    assert resources.cpu_limit == "2"
    assert resources.memory_request == "256Mi"
    assert resources.memory_limit == "4Gi"
    raw = result.spec.template.platform_config.fields["resources_raw"].struct_value
    assert set(raw.fields) == {"requests", "claims"}
    assert dict(raw.fields["requests"].struct_value) == {"nvidia.com/gpu": "1"}


def test_resources_absent_when_no_typed_values() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.resources.CopyFrom(struct({"requests": {"cpu": 2}}))

    result = driver_sandbox(sandbox, "docker")

    assert not result.spec.template.HasField("resources")
    raw = result.spec.template.platform_config.fields["resources_raw"].struct_value
    assert raw.fields["requests"].struct_value.fields["cpu"].number_value == 2


def test_platform_config_fields() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.runtime_class_name = "gvisor"
    sandbox.spec.template.annotations["example.com/owner"] = "ci"
    sandbox.spec.template.user_namespaces = True

    config = driver_sandbox(sandbox, "docker").spec.template.platform_config

    assert config.fields["runtime_class_name"].string_value == "gvisor"
    assert dict(config.fields["annotations"].struct_value) == {
        "example.com/owner": "ci"
    }
    assert config.fields["host_users"].bool_value is False
    assert "resources_raw" not in config.fields


def test_host_users_only_when_user_namespaces_set() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.runtime_class_name = "runc"

    config = driver_sandbox(sandbox, "docker").spec.template.platform_config

    assert "host_users" not in config.fields


def test_driver_config_block_of_active_driver() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.driver_config.CopyFrom(
        struct({"docker": {"mounts": ["/data:/data"]}, "podman": {"x": 1}})
    )

    result = driver_sandbox(sandbox, "docker")

    assert dict(result.spec.template.driver_config) == {"mounts": ["/data:/data"]}


def test_driver_config_absent_for_other_driver() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.driver_config.CopyFrom(struct({"podman": {"x": 1}}))

    result = driver_sandbox(sandbox, "docker")

    assert not result.spec.template.HasField("driver_config")


def test_driver_config_non_object_rejected() -> None:
    sandbox = make_sandbox()
    sandbox.spec.template.driver_config.CopyFrom(struct({"docker": "mounts"}))

    with pytest.raises(ApiError) as raised:
        driver_sandbox(sandbox, "docker")

    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.message == "template.driver_config.docker must be an object"


def test_public_status_fills_backend_name() -> None:
    row = make_sandbox()
    observed = pb.DriverSandboxStatus(instance_id="c-1", agent_fd="3", sandbox_fd="4")
    observed.conditions.add(
        type="Ready", status="True", reason="Up", message="ok", last_transition_time="t"
    )

    status = public_status(observed, row)

    assert status.sandbox_name == "quick-heron"
    assert status.agent_pod == "c-1"
    assert (status.agent_fd, status.sandbox_fd) == ("3", "4")
    assert [
        (c.type, c.status, c.reason, c.message, c.last_transition_time)
        for c in status.conditions
    ] == [("Ready", "True", "Up", "ok", "t")]
    assert not status.HasField("exit_code")


def test_public_status_keeps_backend_name() -> None:
    observed = pb.DriverSandboxStatus(sandbox_name="openshell-quick-heron-2b0c")

    status = public_status(observed, make_sandbox())

    assert status.sandbox_name == "openshell-quick-heron-2b0c"


def test_gpu_unschedulable_message_replaced() -> None:
    row = make_sandbox()
    row.spec.resource_requirements.gpu.SetInParent()
    observed = pb.DriverSandboxStatus()
    observed.conditions.add(
        type="Ready", status="False", reason="Unschedulable", message="0/3 nodes"
    )

    status = public_status(observed, row)

    assert status.conditions[0].message.startswith("No node can run this GPU sandbox")


def test_unschedulable_without_gpu_unchanged() -> None:
    observed = pb.DriverSandboxStatus()
    observed.conditions.add(
        type="Ready", status="False", reason="Unschedulable", message="0/3 nodes"
    )

    status = public_status(observed, make_sandbox())

    assert status.conditions[0].message == "0/3 nodes"


def test_platform_event_copied() -> None:
    event = pb.DriverPlatformEvent(
        timestamp_ms=42,
        source="docker",
        type="Warning",
        reason="Pulled",
        message="image pulled",
        metadata={"image": "x"},
    )

    copied = platform_event(event)

    assert copied.SerializeToString() == event.SerializeToString()
