"""Translation between the public sandbox model and the driver model.

Drivers never see `openshell.v1.Sandbox`: the gateway builds a
`DriverSandbox` for `ValidateSandboxCreate` and `CreateSandbox`, and turns
each observed `DriverSandboxStatus` back into a public `SandboxStatus`.
"""

from __future__ import annotations

from typing import Final

from google.protobuf import struct_pb2

from openshell.gateway import constants as c
from openshell.gateway.errors import ApiError
from openshell.proto import compute_driver_pb2 as driver_pb
from openshell.proto import openshell_pb2 as api

# (section of the public resources Struct, key, DriverResourceRequirements field)
TYPED_RESOURCES: Final = (
    ("requests", "cpu", "cpu_request"),
    ("limits", "cpu", "cpu_limit"),
    ("requests", "memory", "memory_request"),
    ("limits", "memory", "memory_limit"),
)


def driver_sandbox(sandbox: api.Sandbox, driver_name: str) -> driver_pb.DriverSandbox:
    """Build the `DriverSandbox` that describes a public sandbox to its driver.

    `driver_name` is the configured driver name, the key of the block taken
    from `template.driver_config`. Raises `ApiError` (`INVALID_ARGUMENT`)
    when that block is not an object. `spec.sandbox_token` stays empty
    because this gateway has no signing key to mint one.
    """
    spec = sandbox.spec
    template = spec.template
    result = driver_pb.DriverSandbox(
        id=sandbox.metadata.id,
        name=sandbox.metadata.name,
        workspace=sandbox.metadata.workspace,
    )

    result.spec.log_level = spec.log_level
    result.spec.environment.update(spec.environment)
    # NOTE: upstream turns an empty command into ["/bin/bash", "-l"] with
    # tty = true for its supervisor. This gateway has no supervisor and the
    # images it runs need not contain bash, so an empty command goes to the
    # driver as is and the driver runs the image's own command.
    result.spec.command.extend(spec.command)
    result.spec.tty = spec.tty
    if spec.HasField("resource_requirements"):
        result.spec.resource_requirements.ParseFromString(
            spec.resource_requirements.SerializeToString()
        )

    result.spec.template.image = template.image
    result.spec.template.agent_socket_path = template.agent_socket
    result.spec.template.labels.update(template.labels)
    result.spec.template.environment.update(template.environment)
    resources = _typed_resources(template.resources)
    if resources is not None:
        result.spec.template.resources.CopyFrom(resources)
    platform_config = _platform_config(template)
    if platform_config is not None:
        result.spec.template.platform_config.CopyFrom(platform_config)
    driver_config = _driver_config(template, driver_name)
    if driver_config is not None:
        result.spec.template.driver_config.CopyFrom(driver_config)

    result.status.SetInParent()
    return result


def _typed_resources(
    resources: struct_pb2.Struct,
) -> driver_pb.DriverResourceRequirements | None:
    typed = driver_pb.DriverResourceRequirements()
    for section, key, field in TYPED_RESOURCES:
        value = _resource_string(resources, section, key)
        if value:
            setattr(typed, field, value)
    if typed == driver_pb.DriverResourceRequirements():
        return None
    return typed


def _resource_string(resources: struct_pb2.Struct, section: str, key: str) -> str:
    block = resources.fields.get(section)
    if block is None or block.WhichOneof("kind") != "struct_value":
        return ""
    value = block.struct_value.fields.get(key)
    if value is None or value.WhichOneof("kind") != "string_value":
        return ""
    return value.string_value


def _raw_resources(resources: struct_pb2.Struct) -> struct_pb2.Struct:
    """Return the resources Struct without the four typed string entries."""
    raw = struct_pb2.Struct()
    raw.CopyFrom(resources)
    for section, key, _ in TYPED_RESOURCES:
        if _resource_string(resources, section, key):
            del raw.fields[section].struct_value.fields[key]
    for section in {section for section, _, _ in TYPED_RESOURCES}:
        block = raw.fields.get(section)
        if (
            block is not None
            and block.WhichOneof("kind") == "struct_value"
            and not block.struct_value.fields
            and resources.fields[section].struct_value.fields
        ):
            # Drop a section only when taking the typed entries emptied it.
            del raw.fields[section]
    return raw


def _platform_config(template: api.SandboxTemplate) -> struct_pb2.Struct | None:
    config = struct_pb2.Struct()
    if template.runtime_class_name:
        config.fields["runtime_class_name"].string_value = template.runtime_class_name
    if template.annotations:
        config.fields["annotations"].struct_value.update(dict(template.annotations))
    if template.HasField("user_namespaces"):
        config.fields["host_users"].bool_value = not template.user_namespaces
    raw = _raw_resources(template.resources)
    if raw.fields:
        config.fields["resources_raw"].struct_value.CopyFrom(raw)
    return config if config.fields else None


def _driver_config(
    template: api.SandboxTemplate, driver_name: str
) -> struct_pb2.Struct | None:
    block = template.driver_config.fields.get(driver_name)
    if block is None:
        return None
    if block.WhichOneof("kind") != "struct_value":
        raise ApiError.invalid_argument(
            f"template.driver_config.{driver_name} must be an object"
        )
    config = struct_pb2.Struct()
    config.CopyFrom(block.struct_value)
    return config


def requests_gpu(sandbox: api.Sandbox) -> bool:
    """Return whether the sandbox requests a GPU."""
    return sandbox.spec.resource_requirements.HasField("gpu")


def public_status(
    observed: driver_pb.DriverSandboxStatus, row: api.Sandbox
) -> api.SandboxStatus:
    """Turn an observed driver status into the public status of `row`.

    The phase is left as stored; the caller derives it. The gateway's own
    fields (`main_process_instance_id`, `exit_code`, `current_policy_version`)
    are kept from the row, and an empty backend name becomes the sandbox name.
    """
    status = api.SandboxStatus(
        sandbox_name=observed.sandbox_name or row.metadata.name,
        agent_pod=observed.instance_id,
        agent_fd=observed.agent_fd,
        sandbox_fd=observed.sandbox_fd,
        phase=row.status.phase,
        current_policy_version=row.status.current_policy_version,
        main_process_instance_id=row.status.main_process_instance_id,
    )
    if row.status.HasField("exit_code"):
        status.exit_code = row.status.exit_code
    gpu = requests_gpu(row)
    for cond in observed.conditions:
        message = cond.message
        if (
            gpu
            and cond.type == c.READY_CONDITION
            and cond.status == "False"
            and cond.reason == c.REASON_UNSCHEDULABLE
        ):
            message = c.MESSAGE_GPU_UNSCHEDULABLE
        status.conditions.add(
            type=cond.type,
            status=cond.status,
            reason=cond.reason,
            message=message,
            last_transition_time=cond.last_transition_time,
        )
    return status


def platform_event(event: driver_pb.DriverPlatformEvent) -> api.PlatformEvent:
    """Copy a driver platform event into the public message, field for field."""
    return api.PlatformEvent(
        timestamp_ms=event.timestamp_ms,
        source=event.source,
        type=event.type,
        reason=event.reason,
        message=event.message,
        metadata=dict(event.metadata),
    )
