"""The public API served over a Unix socket, driven by a scripted driver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

import openshell
from openshell.errors import DriverError
from openshell.proto import openshell_pb2 as api
from tests.unit.gateway.gateway_harness import rpc_error, served_gateway
from tests.unit.gateway.scripted_driver import ScriptedDriver

Code = grpc.StatusCode


async def test_health(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        response = await gw.stub.Health(api.HealthRequest())

    assert response.status == api.SERVICE_STATUS_HEALTHY
    assert response.version == openshell.__version__


async def test_gateway_info(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        response = await gw.stub.GetGatewayInfo(api.GetGatewayInfoRequest())

    assert response.status == api.SERVICE_STATUS_HEALTHY
    assert response.gateway_version == openshell.__version__
    assert len(response.compute_drivers) == 1
    info = response.compute_drivers[0]
    assert info.name == "scripted"
    assert info.capabilities.driver_name == "scripted-driver"
    assert info.capabilities.driver_version == "0.0.1"


async def test_exec_unimplemented(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        stream = gw.stub.ExecSandbox(api.ExecSandboxRequest(sandbox_id="x"))
        error = await rpc_error(stream.read())

    assert error.code() == Code.UNIMPLEMENTED


async def test_create_returns_provisioning_row(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        request = api.CreateSandboxRequest(
            name="calm-otter", labels={"team": "infra"}, annotations={"n": "x"}
        )
        request.spec.SetInParent()
        created = (await gw.stub.CreateSandbox(request)).sandbox
        sent = gw.driver.created[0]

    assert created.metadata.name == "calm-otter"
    assert created.metadata.workspace == "default"
    assert created.metadata.resource_version == 1
    assert len(created.metadata.id) == 36
    assert created.metadata.created_at_ms > 0
    assert dict(created.metadata.labels) == {"team": "infra"}
    assert dict(created.metadata.annotations) == {"n": "x"}
    assert created.spec.template.image == "registry.test/base:1"
    assert list(created.spec.command) == []
    assert created.status == api.SandboxStatus(phase=api.SANDBOX_PHASE_PROVISIONING)
    assert sent.id == created.metadata.id
    assert sent.spec.template.image == "registry.test/base:1"
    assert "team" not in sent.spec.template.labels


async def test_create_reaches_ready(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        await gw.create("calm-otter")
        ready = await gw.wait_for_phase("calm-otter", api.SANDBOX_PHASE_READY)

    assert ready.status.agent_pod.startswith("instance-")
    assert ready.status.sandbox_name == "backend-calm-otter"
    assert ready.metadata.resource_version == 2


async def test_create_generates_name(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        created = await gw.create()

    assert created.metadata.name
    assert len(created.metadata.name) <= 19


async def test_create_passes_driver_config(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        spec = api.SandboxSpec()
        spec.template.driver_config.update({"scripted": {"mounts": ["a"]}})
        await gw.stub.CreateSandbox(api.CreateSandboxRequest(spec=spec))
        validated = gw.driver.validated[0]
        created = gw.driver.created[0]

    assert dict(validated.spec.template.driver_config) == {"mounts": ["a"]}
    assert dict(created.spec.template.driver_config) == {"mounts": ["a"]}


async def test_create_driver_config_not_object(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        spec = api.SandboxSpec()
        spec.template.driver_config.update({"scripted": ["a"]})
        error = await rpc_error(
            gw.stub.CreateSandbox(api.CreateSandboxRequest(spec=spec))
        )
        rows = await gw.store.all()

    assert error.code() == Code.INVALID_ARGUMENT
    assert error.details() == "template.driver_config.scripted must be an object"
    assert rows == []


async def test_create_errors(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        no_spec = await rpc_error(gw.stub.CreateSandbox(api.CreateSandboxRequest()))
        bad_name = await rpc_error(gw.create("Calm"))
        workspace = await rpc_error(
            gw.stub.CreateSandbox(
                api.CreateSandboxRequest(spec=api.SandboxSpec(), workspace="team-a")
            )
        )
        provider = await rpc_error(gw.create(providers=["github"]))
        rows = await gw.store.all()

    assert (no_spec.code(), no_spec.details()) == (
        Code.INVALID_ARGUMENT,
        "spec is required",
    )
    assert (bad_name.code(), bad_name.details()) == (
        Code.INVALID_ARGUMENT,
        "name must contain only lowercase alphanumeric characters or hyphens",
    )
    assert (workspace.code(), workspace.details()) == (
        Code.NOT_FOUND,
        "workspace 'team-a' not found",
    )
    assert (provider.code(), provider.details()) == (
        Code.FAILED_PRECONDITION,
        "provider 'github' not found",
    )
    assert rows == []


async def test_create_duplicate_name(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        await gw.create("calm-otter")
        error = await rpc_error(gw.create("calm-otter"))
        rows = await gw.store.all()

    assert error.code() == Code.ALREADY_EXISTS
    assert error.details() == "sandbox 'calm-otter' already exists"
    assert len(rows) == 1


async def test_create_validate_status_passed_through(tmp_path: Path) -> None:
    driver = ScriptedDriver()
    driver.faults["validate"] = DriverError(Code.PERMISSION_DENIED, "no GPUs here")
    async with served_gateway(tmp_path, driver) as gw:
        error = await rpc_error(gw.create("calm-otter"))
        rows = await gw.store.all()

    assert error.code() == Code.PERMISSION_DENIED
    assert error.details() == "no GPUs here"
    assert rows == []
    assert driver.calls_of("create") == []


async def test_create_driver_failures_remove_row(tmp_path: Path) -> None:
    cases = [
        (
            DriverError.already_exists("id taken"),
            Code.ALREADY_EXISTS,
            "sandbox already exists",
        ),
        (
            DriverError.failed_precondition("image missing"),
            Code.FAILED_PRECONDITION,
            "image missing",
        ),
        (
            DriverError.internal("engine down"),
            Code.INTERNAL,
            "create sandbox failed: engine down",
        ),
        (
            DriverError(Code.UNAVAILABLE, "busy"),
            Code.INTERNAL,
            "create sandbox failed: busy",
        ),
        (RuntimeError("bug"), Code.INTERNAL, "create sandbox failed: bug"),
    ]
    driver = ScriptedDriver()
    async with served_gateway(tmp_path, driver) as gw:
        for fault, code, message in cases:
            driver.faults["create"] = fault
            error = await rpc_error(gw.create("calm-otter"))
            assert (error.code(), error.details()) == (code, message)
            assert await gw.store.all() == []


async def test_unknown_spec_fields_survive(tmp_path: Path) -> None:
    spec = api.SandboxSpec()
    spec.ParseFromString(b"\x3a\x07policy!")
    async with served_gateway(tmp_path) as gw:
        await gw.stub.CreateSandbox(api.CreateSandboxRequest(name="keep", spec=spec))
        await gw.wait_for_phase("keep", api.SANDBOX_PHASE_READY)
        fetched = await gw.get("keep")

    assert b"\x3a\x07policy!" in fetched.spec.SerializeToString()


async def test_get_errors(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        no_name = await rpc_error(gw.stub.GetSandbox(api.GetSandboxRequest()))
        missing = await rpc_error(gw.get("nobody"))
        workspace = await rpc_error(
            gw.stub.GetSandbox(api.GetSandboxRequest(name="x", workspace="other"))
        )

    assert (no_name.code(), no_name.details()) == (
        Code.INVALID_ARGUMENT,
        "name is required",
    )
    assert (missing.code(), missing.details()) == (Code.NOT_FOUND, "sandbox not found")
    assert (workspace.code(), workspace.details()) == (
        Code.NOT_FOUND,
        "workspace 'other' not found",
    )


async def list_names(gw: object, **fields: object) -> list[str]:
    response = await gw.stub.ListSandboxes(api.ListSandboxesRequest(**fields))  # type: ignore[attr-defined]
    return [row.metadata.name for row in response.sandboxes]


async def test_list_paging_and_selector(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        for index, name in enumerate(["one", "two", "three"]):
            request = api.CreateSandboxRequest(
                name=name, spec=api.SandboxSpec(), labels={"n": str(index % 2)}
            )
            await gw.stub.CreateSandbox(request)
            await asyncio.sleep(0.002)
        everything = await list_names(gw)
        page = await list_names(gw, limit=1, offset=1)
        selected = await list_names(gw, label_selector=" n = 0 ,")
        all_workspaces = await list_names(gw, all_workspaces=True)

    assert everything == ["one", "two", "three"]
    assert page == ["two"]
    assert selected == ["one", "three"]
    assert all_workspaces == everything


async def test_list_limit_cap(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        created_at = 1
        for index in range(1005):
            row = api.Sandbox()
            row.metadata.id = f"id-{index:05d}"
            row.metadata.name = f"s{index}"
            row.metadata.workspace = "default"
            row.metadata.created_at_ms = created_at + index
            await gw.store.create(row)
        default_page = await list_names(gw)
        capped = await list_names(gw, limit=5000)

    assert len(default_page) == 100
    assert len(capped) == 1000


async def test_list_errors(tmp_path: Path) -> None:
    async with served_gateway(tmp_path) as gw:
        exclusive = await rpc_error(
            gw.stub.ListSandboxes(
                api.ListSandboxesRequest(all_workspaces=True, workspace="default")
            )
        )
        selector = await rpc_error(
            gw.stub.ListSandboxes(api.ListSandboxesRequest(label_selector="app"))
        )
        workspace = await rpc_error(
            gw.stub.ListSandboxes(
                api.ListSandboxesRequest(workspace="team-a", label_selector="app")
            )
        )

    assert (exclusive.code(), exclusive.details()) == (
        Code.INVALID_ARGUMENT,
        "all_workspaces and workspace are mutually exclusive",
    )
    assert (selector.code(), selector.details()) == (
        Code.INVALID_ARGUMENT,
        "invalid label selector: expected 'key=value', got 'app'",
    )
    assert (workspace.code(), workspace.details()) == (
        Code.NOT_FOUND,
        "workspace 'team-a' not found",
    )
