"""CreateSandbox request checks, workspace resolution and name generation."""

from __future__ import annotations

import random
import re

import grpc
import pytest

from openshell.gateway.errors import ApiError
from openshell.gateway.validation import (
    generate_sandbox_name,
    resolve_workspace,
    validate_create_request,
)
from openshell.proto import openshell_pb2 as api

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def request(**fields: object) -> api.CreateSandboxRequest:
    result = api.CreateSandboxRequest(**fields)  # type: ignore[arg-type]
    result.spec.SetInParent()
    return result


def rejection(create: api.CreateSandboxRequest) -> ApiError:
    with pytest.raises(ApiError) as raised:
        validate_create_request(create)
    return raised.value


def test_minimal_request_accepted() -> None:
    validate_create_request(request())


def test_spec_required() -> None:
    error = rejection(api.CreateSandboxRequest(name="calm-otter"))

    assert error.code == INVALID
    assert error.message == "spec is required"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a" * 20, "name exceeds maximum length (20 > 19)"),
        (
            "Calm",
            "name must contain only lowercase alphanumeric characters or hyphens",
        ),
        (
            "calm_otter",
            "name must contain only lowercase alphanumeric characters or hyphens",
        ),
        ("-calm", "name must not start or end with a hyphen"),
        ("calm-", "name must not start or end with a hyphen"),
        ("calm--otter", "name must not contain consecutive hyphens"),
    ],
)
def test_name_rules(name: str, message: str) -> None:
    error = rejection(request(name=name))

    assert error.code == INVALID
    assert error.message == message


def test_name_of_19_accepted() -> None:
    validate_create_request(request(name="a" * 19))


def spec_rejection(spec: api.SandboxSpec) -> str:
    error = rejection(api.CreateSandboxRequest(spec=spec))
    assert error.code == INVALID
    return error.message


def test_provider_count_limit() -> None:
    spec = api.SandboxSpec(providers=[f"p{i}" for i in range(33)])

    assert spec_rejection(spec) == "providers list exceeds maximum (33 > 32)"


def test_log_level_limit() -> None:
    spec = api.SandboxSpec(log_level="x" * 33)

    assert spec_rejection(spec) == "log_level exceeds maximum length (33 > 32)"


def test_environment_entry_limit() -> None:
    spec = api.SandboxSpec(environment={f"K{i}": "v" for i in range(129)})

    assert spec_rejection(spec) == (
        "spec.environment exceeds maximum entries (129 > 128)"
    )


def test_environment_value_limit() -> None:
    spec = api.SandboxSpec(environment={"BIG": "v" * 8193})

    assert spec_rejection(spec) == (
        "spec.environment value exceeds maximum length (8193 > 8192)"
    )


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", ""])
def test_environment_key_pattern(key: str) -> None:
    spec = api.SandboxSpec(environment={key: "v"})

    assert spec_rejection(spec) == (
        f"spec.environment keys must match ^[A-Za-z_][A-Za-z0-9_]*$; got '{key}'"
    )


def test_environment_reserved_prefix() -> None:
    spec = api.SandboxSpec(environment={"OPENSHELL_TOKEN": "v"})

    assert spec_rejection(spec) == (
        "spec.environment keys starting with OPENSHELL_ are reserved; "
        "got 'OPENSHELL_TOKEN'"
    )


def test_template_environment_reserved_prefix() -> None:
    spec = api.SandboxSpec()
    spec.template.environment["OPENSHELL_X"] = "1"

    assert spec_rejection(spec) == (
        "spec.template.environment keys starting with OPENSHELL_ are reserved; "
        "got 'OPENSHELL_X'"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\nb", "spec.environment contains newline or carriage return characters"),
        ("a\rb", "spec.environment contains newline or carriage return characters"),
        ("a\0b", "spec.environment contains null bytes"),
    ],
)
def test_environment_value_characters(value: str, message: str) -> None:
    assert spec_rejection(api.SandboxSpec(environment={"K": value})) == message


def test_template_string_limit() -> None:
    spec = api.SandboxSpec()
    spec.template.image = "i" * 1025

    assert spec_rejection(spec) == (
        "spec.template.image exceeds maximum length (1025 > 1024)"
    )


def test_template_map_limit() -> None:
    spec = api.SandboxSpec()
    spec.template.labels.update({f"k{i}": "v" for i in range(129)})

    assert spec_rejection(spec) == (
        "spec.template.labels exceeds maximum entries (129 > 128)"
    )


def test_driver_config_size_limit() -> None:
    spec = api.SandboxSpec()
    spec.template.driver_config.update({"docker": {"blob": "x" * 70_000}})

    assert spec_rejection(spec).startswith(
        "template.driver_config serialized size exceeds maximum ("
    )


def test_command_first_argument() -> None:
    spec = api.SandboxSpec(command=["", "x"])

    assert spec_rejection(spec) == "spec.command[0] must not be empty"


def test_command_argument_count() -> None:
    spec = api.SandboxSpec(command=["a"] * 257)

    assert spec_rejection(spec) == "spec.command exceeds 256 argument limit"


def test_command_argument_size() -> None:
    spec = api.SandboxSpec(command=["sh", "x" * (32 * 1024 + 1)])

    assert spec_rejection(spec) == "spec.command[1] exceeds 32768 byte limit"


def test_command_total_size() -> None:
    spec = api.SandboxSpec(command=["x" * 32 * 1024] * 9)

    assert spec_rejection(spec) == ("spec.command total size exceeds 262144 byte limit")


def test_command_null_byte() -> None:
    spec = api.SandboxSpec(command=["sh", "a\0b"])

    assert spec_rejection(spec) == "spec.command[1] contains null bytes"


def test_gpu_count_zero() -> None:
    spec = api.SandboxSpec()
    spec.resource_requirements.gpu.count = 0

    assert spec_rejection(spec) == "gpu count must be greater than 0"


def test_gpu_without_count_accepted() -> None:
    spec = api.SandboxSpec()
    spec.resource_requirements.gpu.SetInParent()

    validate_create_request(api.CreateSandboxRequest(spec=spec))


def test_policy_size_limit() -> None:
    # Field 7 (upstream's policy) is undeclared here and kept as unknown data.
    policy = b"\x0a" + b"\x80\x80\x10" + b"p" * 262_144
    data = b"\x3a" + _varint(len(policy)) + policy
    spec = api.SandboxSpec()
    spec.ParseFromString(data)

    assert spec_rejection(spec).startswith("policy serialized size exceeds maximum (")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def test_label_key_checked() -> None:
    error = rejection(request(labels={"-bad": "x"}))

    assert error.code == INVALID
    assert error.message == (
        "label key name segment must start with alphanumeric character: '-bad'"
    )


def test_label_value_checked() -> None:
    error = rejection(request(labels={"app": "a b"}))

    assert error.message == (
        "label value contains invalid characters (must be alphanumeric, '-', '_', "
        "or '.'): 'a b'"
    )


def test_annotation_key_checked() -> None:
    error = rejection(request(annotations={"Bad.Prefix/x": "free text"}))

    assert error.message == (
        "label key prefix must be a DNS subdomain (lowercase alphanumeric, '-', "
        "'.'): 'Bad.Prefix/x'"
    )


def test_annotation_value_free_text() -> None:
    validate_create_request(request(annotations={"note": "any text: with spaces"}))


def test_annotation_count_limit() -> None:
    error = rejection(request(annotations={f"k{i}": "v" for i in range(129)}))

    assert error.message == "annotations exceeds maximum entries (129 > 128)"


def test_label_count_limit() -> None:
    error = rejection(request(labels={f"k{i}": "v" for i in range(129)}))

    assert error.message == "labels exceeds maximum entries (129 > 128)"


def test_label_count_at_limit_accepted() -> None:
    validate_create_request(request(labels={f"k{i}": "v" for i in range(128)}))


def test_name_checked_before_spec() -> None:
    create = api.CreateSandboxRequest(
        name="BAD", spec=api.SandboxSpec(log_level="x" * 40)
    )

    assert rejection(create).message.startswith("name must contain only")


@pytest.mark.parametrize("workspace", ["", "default"])
def test_workspace_default(workspace: str) -> None:
    assert resolve_workspace(workspace) == "default"


def test_workspace_unknown() -> None:
    with pytest.raises(ApiError) as raised:
        resolve_workspace("team-a")

    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.message == "workspace 'team-a' not found"


def test_generated_names_are_valid() -> None:
    rng = random.Random(7)
    for _ in range(200):
        name = generate_sandbox_name(rng)
        assert re.fullmatch(r"[a-z]+-[a-z]+", name), name
        assert len(name) <= 19
        validate_create_request(request(name=name))
