"""Request checks of the public API, with the messages upstream clients see.

Every check raises `ApiError` with the gRPC code and the exact message of
upstream OpenShell, because clients and scripts match on them. Also here:
workspace resolution and sandbox name generation.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Final

from google.protobuf import struct_pb2, unknown_fields

from openshell.gateway import constants as c
from openshell.gateway.errors import ApiError
from openshell.gateway.labels import validate_label_key, validate_label_value
from openshell.proto import openshell_pb2 as api

ENV_KEY_PATTERN: Final = "^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_ENV_PREFIX: Final = "OPENSHELL_"
_ENV_KEY = re.compile(ENV_KEY_PATTERN)
_NAME_CHARACTERS = re.compile(r"[a-z0-9-]*")

_NAME_ADJECTIVES: Final = (
    "amber", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp",
    "daring", "eager", "early", "fancy", "fleet", "fresh", "gentle", "golden",
    "happy", "honest", "jolly", "keen", "kind", "lively", "lucky", "mellow",
    "merry", "mighty", "nimble", "noble", "polite", "proud", "quick", "quiet",
    "rapid", "ready", "regal", "rosy", "shiny", "silent", "sleek", "smart",
    "snug", "solid", "steady", "sunny", "swift", "tidy", "vivid", "witty",
)  # fmt: skip
_NAME_NOUNS: Final = (
    "badger", "beaver", "bison", "condor", "crane", "dingo", "dolphin", "eagle",
    "falcon", "ferret", "finch", "gecko", "gopher", "heron", "ibis", "jackal",
    "jaguar", "koala", "lemur", "lynx", "marmot", "marten", "moose", "narwhal",
    "ocelot", "osprey", "otter", "panda", "pelican", "puffin", "quail", "raven",
    "salmon", "seal", "shrike", "sparrow", "stork", "swan", "tapir", "tern",
    "toucan", "trout", "turtle", "urchin", "walrus", "weasel", "wombat", "yak",
)  # fmt: skip


def resolve_workspace(workspace: str) -> str:
    """Return the workspace a request means: empty is `default`.

    Only `default` exists; any other name raises `NOT_FOUND`.
    """
    resolved = workspace or c.DEFAULT_WORKSPACE
    if resolved != c.DEFAULT_WORKSPACE:
        raise ApiError.not_found(f"workspace '{resolved}' not found")
    return resolved


def require_name(name: str) -> None:
    """Raise `INVALID_ARGUMENT` for an empty sandbox name in a lookup."""
    if not name:
        raise ApiError.invalid_argument("name is required")


def generate_sandbox_name(rng: random.Random | None = None) -> str:
    """Return two random words joined by `-`, cut to the name limit."""
    chooser = rng or random.SystemRandom()
    name = f"{chooser.choice(_NAME_ADJECTIVES)}-{chooser.choice(_NAME_NOUNS)}"
    return name[: c.MAX_SANDBOX_NAME_LEN].rstrip("-")


def validate_sandbox_name(name: str) -> None:
    """Check a requested sandbox name; empty is allowed (a name is generated)."""
    if not name:
        return
    size = len(name.encode())
    if size > c.MAX_SANDBOX_NAME_LEN:
        raise ApiError.invalid_argument(
            f"name exceeds maximum length ({size} > {c.MAX_SANDBOX_NAME_LEN})"
        )
    if not _NAME_CHARACTERS.fullmatch(name):
        raise ApiError.invalid_argument(
            "name must contain only lowercase alphanumeric characters or hyphens"
        )
    if name.startswith("-") or name.endswith("-"):
        raise ApiError.invalid_argument("name must not start or end with a hyphen")
    if "--" in name:
        raise ApiError.invalid_argument("name must not contain consecutive hyphens")


def validate_create_request(request: api.CreateSandboxRequest) -> None:
    """Run the CreateSandbox checks that need no store or driver.

    In upstream order: spec presence, name, spec limits, environment keys,
    then label and annotation syntax. Workspace and provider checks follow
    in the caller because they look things up.
    """
    if not request.HasField("spec"):
        raise ApiError.invalid_argument("spec is required")
    validate_sandbox_name(request.name)
    validate_spec(request.spec)
    if len(request.labels) > c.MAX_LABEL_ENTRIES:
        raise ApiError.invalid_argument(
            f"labels exceeds maximum entries ({len(request.labels)} > "
            f"{c.MAX_LABEL_ENTRIES})"
        )
    for key, value in request.labels.items():
        validate_label_key(key)
        validate_label_value(value)
    validate_annotations(request.annotations, "annotations")


def validate_spec(spec: api.SandboxSpec) -> None:
    """Check the size limits and environment rules of a sandbox spec."""
    if len(spec.providers) > c.MAX_PROVIDERS:
        raise ApiError.invalid_argument(
            f"providers list exceeds maximum ({len(spec.providers)} > "
            f"{c.MAX_PROVIDERS})"
        )
    log_level_size = len(spec.log_level.encode())
    if log_level_size > c.MAX_LOG_LEVEL_LEN:
        raise ApiError.invalid_argument(
            f"log_level exceeds maximum length ({log_level_size} > "
            f"{c.MAX_LOG_LEVEL_LEN})"
        )
    validate_string_map(
        spec.environment,
        c.MAX_ENVIRONMENT_ENTRIES,
        c.MAX_MAP_KEY_LEN,
        c.MAX_MAP_VALUE_LEN,
        "spec.environment",
    )
    validate_environment(spec.environment, "spec.environment")
    if spec.HasField("template"):
        validate_template(spec.template)
        validate_environment(spec.template.environment, "spec.template.environment")
    gpu = spec.resource_requirements.gpu
    if gpu.HasField("count") and gpu.count == 0:
        raise ApiError.invalid_argument("gpu count must be greater than 0")
    if spec.command:
        validate_command(list(spec.command))
    validate_policy_size(spec)


def validate_template(template: api.SandboxTemplate) -> None:
    """Check the string, map and Struct size limits of a template."""
    for field, value in (
        ("spec.template.image", template.image),
        ("spec.template.runtime_class_name", template.runtime_class_name),
        ("spec.template.agent_socket", template.agent_socket),
    ):
        size = len(value.encode())
        if size > c.MAX_TEMPLATE_STRING_LEN:
            raise ApiError.invalid_argument(
                f"{field} exceeds maximum length ({size} > {c.MAX_TEMPLATE_STRING_LEN})"
            )
    for field, entries in (
        ("spec.template.labels", template.labels),
        ("spec.template.annotations", template.annotations),
        ("spec.template.environment", template.environment),
    ):
        validate_string_map(
            entries,
            c.MAX_TEMPLATE_MAP_ENTRIES,
            c.MAX_MAP_KEY_LEN,
            c.MAX_MAP_VALUE_LEN,
            field,
        )
    for field, struct in (
        ("resources", template.resources),
        ("driver_config", template.driver_config),
    ):
        _check_struct_size(field, struct)


def _check_struct_size(field: str, struct: struct_pb2.Struct) -> None:
    size = struct.ByteSize()
    if size > c.MAX_TEMPLATE_STRUCT_SIZE:
        raise ApiError.invalid_argument(
            f"template.{field} serialized size exceeds maximum ({size} > "
            f"{c.MAX_TEMPLATE_STRUCT_SIZE})"
        )


def validate_command(command: list[str]) -> None:
    """Check the main-process argv: count, first argument, sizes, NUL bytes."""
    if len(command) > c.MAX_COMMAND_ARGS:
        raise ApiError.invalid_argument(
            f"spec.command exceeds {c.MAX_COMMAND_ARGS} argument limit"
        )
    if not command[0]:
        raise ApiError.invalid_argument("spec.command[0] must not be empty")
    sizes = [len(argument.encode()) for argument in command]
    if sum(sizes) > c.MAX_COMMAND_TOTAL_SIZE:
        raise ApiError.invalid_argument(
            f"spec.command total size exceeds {c.MAX_COMMAND_TOTAL_SIZE} byte limit"
        )
    for index, (argument, size) in enumerate(zip(command, sizes, strict=True)):
        if size > c.MAX_COMMAND_ARG_LEN:
            raise ApiError.invalid_argument(
                f"spec.command[{index}] exceeds {c.MAX_COMMAND_ARG_LEN} byte limit"
            )
        if "\0" in argument:
            raise ApiError.invalid_argument(
                f"spec.command[{index}] contains null bytes"
            )


def validate_policy_size(spec: api.SandboxSpec) -> None:
    """Check the size of upstream's `policy` field, kept here as unknown data."""
    unknown = unknown_fields.UnknownFieldSet(spec)
    size = 0
    for index in range(len(unknown)):
        field = unknown[index]
        if field.field_number == c.POLICY_FIELD_NUMBER and isinstance(
            field.data, bytes
        ):
            size += len(field.data)
    if size > c.MAX_POLICY_SIZE:
        raise ApiError.invalid_argument(
            f"policy serialized size exceeds maximum ({size} > {c.MAX_POLICY_SIZE})"
        )


def validate_string_map(
    entries: Mapping[str, str],
    max_entries: int,
    max_key_len: int,
    max_value_len: int,
    field: str,
) -> None:
    """Check the entry count and the key and value sizes of a string map."""
    if len(entries) > max_entries:
        raise ApiError.invalid_argument(
            f"{field} exceeds maximum entries ({len(entries)} > {max_entries})"
        )
    for key, value in entries.items():
        key_size = len(key.encode())
        if key_size > max_key_len:
            raise ApiError.invalid_argument(
                f"{field} key exceeds maximum length ({key_size} > {max_key_len})"
            )
        value_size = len(value.encode())
        if value_size > max_value_len:
            raise ApiError.invalid_argument(
                f"{field} value exceeds maximum length ({value_size} > {max_value_len})"
            )


def validate_environment(environment: Mapping[str, str], field: str) -> None:
    """Check environment keys, reserved names, values and total size."""
    total = sum(len(k.encode()) + len(v.encode()) for k, v in environment.items())
    if total > c.MAX_ENVIRONMENT_TOTAL_SIZE:
        raise ApiError.invalid_argument(
            f"{field} total size exceeds {c.MAX_ENVIRONMENT_TOTAL_SIZE} byte limit "
            f"({total} bytes)"
        )
    for key, value in environment.items():
        if not _ENV_KEY.fullmatch(key):
            raise ApiError.invalid_argument(
                f"{field} keys must match {ENV_KEY_PATTERN}; got '{key}'"
            )
        if key.startswith(RESERVED_ENV_PREFIX):
            raise ApiError.invalid_argument(
                f"{field} keys starting with {RESERVED_ENV_PREFIX} are reserved; "
                f"got '{key}'"
            )
        if "\0" in value:
            raise ApiError.invalid_argument(f"{field} contains null bytes")
        if "\n" in value or "\r" in value:
            raise ApiError.invalid_argument(
                f"{field} contains newline or carriage return characters"
            )


def validate_annotations(annotations: Mapping[str, str], field: str) -> None:
    """Check annotation count and sizes; keys follow label-key syntax."""
    validate_string_map(
        annotations,
        c.MAX_ANNOTATION_ENTRIES,
        c.MAX_MAP_KEY_LEN,
        c.MAX_MAP_VALUE_LEN,
        field,
    )
    for key in annotations:
        validate_label_key(key)
