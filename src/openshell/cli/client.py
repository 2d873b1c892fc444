"""`openshell`: create and manage sandboxes through a running gateway."""

from __future__ import annotations

import time
from typing import Any

import grpc
import rich_click as click

from openshell.cli.client_support import (
    DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT_SECONDS,
    ENDPOINT_VARIABLE,
    default_endpoint,
    describe_sandbox,
    endpoint_from,
    gateway_stub,
    parse_pairs,
    phase_name,
    print_json,
)
from openshell.cli.edge import EXIT_RUNTIME_ERROR, fail
from openshell.proto import openshell_pb2 as api

click.rich_click.USE_MARKDOWN = True

UINT32_MAX = 2**32 - 1
POSITIVE_SECONDS = click.FloatRange(min=0, min_open=True)

workspace_option = click.option(
    "--workspace", default="", help="Workspace. Default: default."
)
sandbox_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the sandbox as JSON."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--gateway",
    "endpoint",
    default=default_endpoint,
    show_default=DEFAULT_ENDPOINT,
    metavar="HOST:PORT",
    help=f"Gateway address. Env: {ENDPOINT_VARIABLE}.",
)
@click.version_option(package_name="openshell-gateway", prog_name="openshell")
@click.pass_context
def cli(ctx: click.Context, endpoint: str) -> None:
    """Create and manage AI-agent sandboxes through an OpenShell gateway.

    First run:

        openshell sandbox create --name demo --wait -- sleep 3600
    """
    ctx.obj = {"endpoint": endpoint}


@cli.group()
def sandbox() -> None:
    """Create, inspect, stop, start, delete and watch sandboxes."""


@cli.group()
def gateway() -> None:
    """Inspect the gateway."""


def _wait_for_phase(
    stub: Any, sandbox: api.Sandbox, target: str, timeout: float
) -> api.Sandbox:
    """Follow the sandbox until it reaches `target`; fail on ERROR or timeout."""
    request = api.WatchSandboxRequest(id=sandbox.metadata.id, follow_status=True)
    deadline = time.monotonic() + timeout
    try:
        for event in stub.WatchSandbox(request, timeout=timeout):
            if not event.HasField("sandbox"):
                continue
            sandbox = event.sandbox
            phase = phase_name(sandbox.status.phase)
            if phase == target:
                return sandbox
            if phase == "ERROR":
                fail(
                    f"sandbox {sandbox.metadata.name} entered the ERROR phase:\n"
                    + describe_sandbox(sandbox),
                    EXIT_RUNTIME_ERROR,
                )
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    waited = timeout - max(0.0, deadline - time.monotonic())
    fail(
        f"sandbox {sandbox.metadata.name} did not reach {target} within "
        f"{waited:.0f}s (phase {phase_name(sandbox.status.phase)})",
        EXIT_RUNTIME_ERROR,
    )


def _show(sandbox: api.Sandbox, as_json: bool) -> None:
    if as_json:
        print_json(sandbox)
    else:
        click.echo(describe_sandbox(sandbox))


@sandbox.command()
@click.argument("command", nargs=-1)
@click.option(
    "--name",
    default="",
    help="Sandbox name: at most 19 lowercase letters, digits and inner hyphens. "
    "Default: generated.",
)
@click.option("--image", default="", help="OCI image. Default: the driver's.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Selector label (repeatable).",
)
@click.option(
    "--env",
    "environment",
    multiple=True,
    metavar="KEY=VALUE",
    help="Environment variable (repeatable).",
)
@click.option("--tty", is_flag=True, help="Allocate a pseudo-terminal for the command.")
@workspace_option
@click.option(
    "--wait/--no-wait", default=False, help="Wait until the sandbox is READY."
)
@click.option(
    "--timeout",
    type=POSITIVE_SECONDS,
    default=120.0,
    show_default=True,
    help="Seconds to wait with --wait.",
)
@sandbox_json_option
@click.pass_context
def create(
    ctx: click.Context,
    command: tuple[str, ...],
    name: str,
    image: str,
    labels: tuple[str, ...],
    environment: tuple[str, ...],
    tty: bool,
    workspace: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Create a sandbox that runs COMMAND (the image's own command when empty).

    Example:

        openshell sandbox create --name demo --label team=ml --wait -- sleep 3600
    """
    spec = api.SandboxSpec(
        command=list(command),
        tty=tty,
        environment=parse_pairs(environment, "--env"),
        template=api.SandboxTemplate(image=image),
    )
    request = api.CreateSandboxRequest(
        spec=spec, name=name, labels=parse_pairs(labels, "--label"), workspace=workspace
    )
    with gateway_stub(endpoint_from(ctx), name or None) as stub:
        created = stub.CreateSandbox(request, timeout=DEFAULT_TIMEOUT_SECONDS).sandbox
        if wait:
            created = _wait_for_phase(stub, created, "READY", timeout)
    _show(created, as_json)


@sandbox.command()
@click.argument("name")
@workspace_option
@sandbox_json_option
@click.pass_context
def get(ctx: click.Context, name: str, workspace: str, as_json: bool) -> None:
    """Show one sandbox.

    Example:

        openshell sandbox get demo --json
    """
    with gateway_stub(endpoint_from(ctx), name) as stub:
        response = stub.GetSandbox(
            api.GetSandboxRequest(name=name, workspace=workspace),
            timeout=DEFAULT_TIMEOUT_SECONDS,
        )
    _show(response.sandbox, as_json)


@sandbox.command("list")
@click.option(
    "--selector",
    "-l",
    default="",
    metavar="KEY=VALUE[,...]",
    help="Only sandboxes with all these labels.",
)
@workspace_option
@click.option("--all-workspaces", is_flag=True, help="List every workspace.")
@click.option(
    "--limit",
    type=click.IntRange(0, UINT32_MAX),
    default=0,
    help="Maximum rows (0 means 100, at most 1000).",
)
@click.option(
    "--offset", type=click.IntRange(0, UINT32_MAX), default=0, help="Rows to skip."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_sandboxes(
    ctx: click.Context,
    selector: str,
    workspace: str,
    all_workspaces: bool,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List sandboxes, oldest first.

    Example:

        openshell sandbox list --selector team=ml
    """
    request = api.ListSandboxesRequest(
        label_selector=selector,
        workspace=workspace,
        all_workspaces=all_workspaces,
        limit=limit,
        offset=offset,
    )
    with gateway_stub(endpoint_from(ctx)) as stub:
        response = stub.ListSandboxes(request, timeout=DEFAULT_TIMEOUT_SECONDS)
    if as_json:
        print_json(response)
        return
    click.echo(f"{'NAME':<20} {'PHASE':<13} {'WORKSPACE':<12} ID")
    for item in response.sandboxes:
        meta = item.metadata
        phase = phase_name(item.status.phase)
        click.echo(f"{meta.name:<20} {phase:<13} {meta.workspace:<12} {meta.id}")


def _lifecycle(
    ctx: click.Context,
    rpc: str,
    name: str,
    workspace: str,
    wait_for: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    request_type = getattr(api, f"{rpc}Request")
    with gateway_stub(endpoint_from(ctx), name) as stub:
        sandbox = getattr(stub, rpc)(
            request_type(name=name, workspace=workspace), timeout=timeout
        ).sandbox
        if wait_for and phase_name(sandbox.status.phase) != wait_for:
            sandbox = _wait_for_phase(stub, sandbox, wait_for, timeout)
    _show(sandbox, as_json)


@sandbox.command()
@click.argument("name")
@workspace_option
@click.option(
    "--timeout",
    type=POSITIVE_SECONDS,
    default=120.0,
    show_default=True,
    help="Seconds to wait for the stop.",
)
@sandbox_json_option
@click.pass_context
def stop(
    ctx: click.Context, name: str, workspace: str, timeout: float, as_json: bool
) -> None:
    """Stop a READY sandbox's compute and keep its state; returns once STOPPED.

    Example:

        openshell sandbox stop demo
    """
    _lifecycle(ctx, "StopSandbox", name, workspace, None, timeout, as_json)


@sandbox.command()
@click.argument("name")
@workspace_option
@click.option(
    "--wait/--no-wait", default=False, help="Wait until the sandbox is READY."
)
@click.option(
    "--timeout",
    type=POSITIVE_SECONDS,
    default=120.0,
    show_default=True,
    help="Seconds to wait.",
)
@sandbox_json_option
@click.pass_context
def start(
    ctx: click.Context,
    name: str,
    workspace: str,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Start a STOPPED sandbox again with its retained state.

    Example:

        openshell sandbox start demo --wait
    """
    _lifecycle(
        ctx,
        "StartSandbox",
        name,
        workspace,
        "READY" if wait else None,
        timeout,
        as_json,
    )


@sandbox.command()
@click.argument("name")
@workspace_option
@click.option("--wait/--no-wait", default=False, help="Wait until the sandbox is gone.")
@click.option(
    "--timeout",
    type=POSITIVE_SECONDS,
    default=60.0,
    show_default=True,
    help="Seconds to wait.",
)
@click.pass_context
def delete(
    ctx: click.Context, name: str, workspace: str, wait: bool, timeout: float
) -> None:
    """Delete a sandbox and its backend resources.

    Example:

        openshell sandbox delete demo --wait
    """
    request = api.DeleteSandboxRequest(name=name, workspace=workspace)
    with gateway_stub(endpoint_from(ctx), name) as stub:
        deleted = stub.DeleteSandbox(request, timeout=DEFAULT_TIMEOUT_SECONDS).deleted
        deadline = time.monotonic() + timeout
        while wait and deleted:
            try:
                stub.GetSandbox(
                    api.GetSandboxRequest(name=name, workspace=workspace),
                    timeout=DEFAULT_TIMEOUT_SECONDS,
                )
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    break
                raise
            if time.monotonic() > deadline:
                fail(
                    f"sandbox {name} was not deleted within {timeout:g}s",
                    EXIT_RUNTIME_ERROR,
                )
            time.sleep(0.2)
    click.echo(
        f"deleted {name}"
        if deleted
        else f"deleted {name} (no backend resource existed)"
    )


@sandbox.command()
@click.argument("name")
@workspace_option
@click.option(
    "--until",
    "until",
    type=click.Choice(["ready", "stopped", "deleted", "never"]),
    default="never",
    show_default=True,
    help="Exit once this state is reached.",
)
@click.option("--events", is_flag=True, help="Also print driver platform events.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Give up after this many seconds (0: no limit).",
)
@click.pass_context
def watch(
    ctx: click.Context,
    name: str,
    workspace: str,
    until: str,
    events: bool,
    timeout: float,
) -> None:
    """Print each phase transition of a sandbox as it happens.

    Ends at the state given by --until, when the sandbox is deleted, or on
    Ctrl-C.

    Example:

        openshell sandbox watch demo --until ready
    """
    with gateway_stub(endpoint_from(ctx), name) as stub:
        sandbox = stub.GetSandbox(
            api.GetSandboxRequest(name=name, workspace=workspace),
            timeout=DEFAULT_TIMEOUT_SECONDS,
        ).sandbox
        request = api.WatchSandboxRequest(
            id=sandbox.metadata.id, follow_status=True, follow_events=events
        )
        last_phase = None
        stream = stub.WatchSandbox(request, timeout=timeout or None)
        try:
            for event in stream:
                if event.HasField("event"):
                    platform = event.event
                    click.echo(f"event   {platform.reason}: {platform.message}")
                    continue
                if not event.HasField("sandbox"):
                    continue
                phase = phase_name(event.sandbox.status.phase)
                if phase != last_phase:
                    click.echo(
                        f"{time.strftime('%H:%M:%S')} {name} {phase}",
                    )
                    last_phase = phase
                if until == phase.lower():
                    return
        except KeyboardInterrupt:
            # Ctrl-C is the normal way to end an open-ended watch.
            stream.cancel()
            return
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                fail(
                    f"timed out after {timeout:g}s in phase {last_phase}",
                    EXIT_RUNTIME_ERROR,
                )
            raise
        if until == "deleted" or until == "never":
            click.echo(f"{time.strftime('%H:%M:%S')} {name} DELETED")
            return
        fail(f"sandbox {name} was deleted before it became {until}", EXIT_RUNTIME_ERROR)


@gateway.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def info(ctx: click.Context, as_json: bool) -> None:
    """Show the gateway version and its compute driver.

    Example:

        openshell gateway info
    """
    with gateway_stub(endpoint_from(ctx)) as stub:
        response = stub.GetGatewayInfo(
            api.GetGatewayInfoRequest(), timeout=DEFAULT_TIMEOUT_SECONDS
        )
    if as_json:
        print_json(response)
        return
    click.echo(f"gateway:  {ctx.obj['endpoint']} version {response.gateway_version}")
    status = api.ServiceStatus.Name(response.status).removeprefix("SERVICE_STATUS_")
    click.echo(f"status:   {status}")
    for driver in response.compute_drivers:
        caps = driver.capabilities
        click.echo(
            f"driver:   {driver.name} ({caps.driver_name} {caps.driver_version})"
        )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="openshell")
