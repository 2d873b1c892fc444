"""Shared pieces of the `openshell` client: channel, errors, output."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import rich_click as click
from google.protobuf import json_format
from google.protobuf.message import Message

from openshell.cli.edge import EXIT_RUNTIME_ERROR, EXIT_USAGE_ERROR, fail
from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc

DEFAULT_ENDPOINT = "127.0.0.1:17670"
ENDPOINT_VARIABLE = "OPENSHELL_GATEWAY_ENDPOINT"
DEFAULT_TIMEOUT_SECONDS = 30.0

_USAGE_CODES = {grpc.StatusCode.INVALID_ARGUMENT}


def phase_name(phase: int) -> str:
    """Return the short phase name, for example READY for SANDBOX_PHASE_READY."""
    return api.SandboxPhase.Name(api.SandboxPhase.ValueType(phase)).removeprefix(
        "SANDBOX_PHASE_"
    )


def endpoint_from(ctx: click.Context) -> str:
    value: str = ctx.obj["endpoint"]
    return value


@contextmanager
def gateway_stub(
    endpoint: str, sandbox: str | None = None
) -> Iterator[api_grpc.OpenShellStub]:
    """Open a plaintext channel to the gateway and turn call errors into exits.

    `sandbox` names the sandbox the command is about, for its error messages.
    """
    channel = grpc.insecure_channel(endpoint)
    try:
        yield api_grpc.OpenShellStub(channel)
    except grpc.RpcError as error:
        fail(*_describe_error(channel, endpoint, error, sandbox))
    finally:
        channel.close()


def _gateway_answers(channel: grpc.Channel) -> bool:
    try:
        api_grpc.OpenShellStub(channel).Health(api.HealthRequest(), timeout=2)
    except grpc.RpcError:
        return False
    return True


def _describe_error(
    channel: grpc.Channel, endpoint: str, error: grpc.RpcError, sandbox: str | None
) -> tuple[str, int]:
    """Return the message and exit status for a failed gateway call."""
    code, details = error.code(), error.details()
    status = EXIT_USAGE_ERROR if code in _USAGE_CODES else EXIT_RUNTIME_ERROR
    if code == grpc.StatusCode.UNAVAILABLE and not _gateway_answers(channel):
        return (
            f"cannot reach the gateway at {endpoint}: {details}; is "
            "`openshell-gateway run` running? "
            f"(set --gateway or {ENDPOINT_VARIABLE})",
            EXIT_RUNTIME_ERROR,
        )
    if code == grpc.StatusCode.NOT_FOUND and details == "sandbox not found" and sandbox:
        return (
            f"NOT_FOUND: sandbox '{sandbox}' not found; "
            "`openshell sandbox list` shows the existing ones",
            status,
        )
    if code == grpc.StatusCode.FAILED_PRECONDITION and "(current phase: Error)" in (
        details or ""
    ):
        hint = f"openshell sandbox delete {sandbox}" if sandbox else "sandbox delete"
        return (
            f"{code.name}: {details}; a sandbox in the Error phase stays there "
            f"until it is deleted (`{hint}`)",
            status,
        )
    return f"{code.name}: {details}", status


def to_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def print_json(message: Message) -> None:
    click.echo(json.dumps(to_dict(message), indent=2, sort_keys=True))


def describe_sandbox(sandbox: api.Sandbox) -> str:
    """Return a few human-readable lines about one sandbox."""
    meta = sandbox.metadata
    status = sandbox.status
    lines = [
        f"name:       {meta.name}",
        f"id:         {meta.id}",
        f"workspace:  {meta.workspace}",
        f"phase:      {phase_name(status.phase)}",
        f"image:      {sandbox.spec.template.image}",
        f"command:    {shlex.join(sandbox.spec.command) or '(image default)'}",
        f"labels:     {', '.join(f'{k}={v}' for k, v in sorted(meta.labels.items()))}",
        f"backend:    {status.sandbox_name} {status.agent_pod}".rstrip(),
    ]
    for condition in status.conditions:
        lines.append(
            f"condition:  {condition.type}={condition.status} {condition.reason}"
            + (f" ({condition.message})" if condition.message else "")
        )
    if status.HasField("exit_code"):
        lines.append(f"exit code:  {status.exit_code}")
    return "\n".join(lines)


def default_endpoint() -> str:
    return os.environ.get(ENDPOINT_VARIABLE, DEFAULT_ENDPOINT)


def parse_pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """Parse repeated KEY=VALUE options, failing with exit 2 on a bad one."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            fail(f"invalid {option} {value!r}: expected KEY=VALUE", EXIT_USAGE_ERROR)
        pairs[key] = item
    return pairs
