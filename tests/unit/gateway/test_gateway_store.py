"""The SQLite sandbox store on a real database file."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from openshell.errors import ConfigError, StoreError
from openshell.gateway.errors import NameConflictError, VersionConflictError
from openshell.gateway.sqlite_store import SqliteStore, open_store
from openshell.proto import openshell_pb2 as api


def make_row(
    sandbox_id: str,
    name: str,
    *,
    workspace: str = "default",
    created_at_ms: int = 1000,
    labels: dict[str, str] | None = None,
) -> api.Sandbox:
    row = api.Sandbox()
    row.metadata.id = sandbox_id
    row.metadata.name = name
    row.metadata.workspace = workspace
    row.metadata.created_at_ms = created_at_ms
    row.metadata.labels.update(labels or {})
    row.status.phase = api.SANDBOX_PHASE_PROVISIONING
    return row


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_create_sets_version_one(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        created = await store.create(make_row("id-1", "calm-otter"))
        fetched = await store.get("id-1")
    finally:
        await store.close()

    assert created.metadata.resource_version == 1
    assert fetched == created


async def test_name_unique_per_workspace(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        await store.create(make_row("id-1", "calm-otter"))
        await store.create(make_row("id-2", "calm-otter", workspace="team-a"))
        with pytest.raises(NameConflictError) as raised:
            await store.create(make_row("id-3", "calm-otter"))
        rows = await store.all()
    finally:
        await store.close()

    assert raised.value.workspace == "default"
    assert raised.value.name == "calm-otter"
    assert [row.metadata.id for row in rows] == ["id-1", "id-2"]


async def test_get_by_name(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        await store.create(make_row("id-1", "calm-otter"))
        found = await store.get_by_name("default", "calm-otter")
        other_workspace = await store.get_by_name("team-a", "calm-otter")
        missing = await store.get("id-9")
    finally:
        await store.close()

    assert found is not None
    assert found.metadata.id == "id-1"
    assert other_workspace is None
    assert missing is None


async def test_update_compare_and_swap(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        created = await store.create(make_row("id-1", "calm-otter"))
        created.status.phase = api.SANDBOX_PHASE_READY
        updated = await store.update(created, 1)
        stale = api.Sandbox()
        stale.CopyFrom(created)
        stale.status.phase = api.SANDBOX_PHASE_ERROR
        with pytest.raises(VersionConflictError):
            await store.update(stale, 1)
        stored = await store.get("id-1")
    finally:
        await store.close()

    assert updated.metadata.resource_version == 2
    assert stored is not None
    assert stored.status.phase == api.SANDBOX_PHASE_READY
    assert stored.metadata.resource_version == 2


async def test_update_missing_row_conflicts(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        with pytest.raises(VersionConflictError):
            await store.update(make_row("id-1", "calm-otter"), 1)
    finally:
        await store.close()


async def test_rename_collision(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        await store.create(make_row("id-1", "calm-otter"))
        second = await store.create(make_row("id-2", "brave-lynx"))
        second.metadata.name = "calm-otter"
        with pytest.raises(NameConflictError):
            await store.update(second, 1)
    finally:
        await store.close()


async def test_delete(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        await store.create(make_row("id-1", "calm-otter"))
        first = await store.delete("id-1")
        second = await store.delete("id-1")
        remaining = await store.all()
    finally:
        await store.close()

    assert first is True
    assert second is False
    assert remaining == []


async def test_list_order_and_paging(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        await store.create(make_row("id-d", "zeta", created_at_ms=2000))
        await store.create(make_row("id-c", "beta", created_at_ms=1000))
        await store.create(make_row("id-b", "alpha", created_at_ms=1000))
        await store.create(
            make_row("id-a", "alpha", workspace="aaa", created_at_ms=1000)
        )
        everything = await store.list(None)
        default = await store.list("default")
        page = await store.list("default", limit=1, offset=1)
        past_end = await store.list("default", limit=5, offset=5)
    finally:
        await store.close()

    assert [row.metadata.id for row in everything] == ["id-a", "id-b", "id-c", "id-d"]
    assert [row.metadata.id for row in default] == ["id-b", "id-c", "id-d"]
    assert [row.metadata.id for row in page] == ["id-c"]
    assert past_end == []


async def test_list_label_selector(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        await store.create(make_row("id-1", "one", labels={"app": "web", "tier": ""}))
        await store.create(make_row("id-2", "two", labels={"app": "web"}))
        await store.create(make_row("id-3", "three", labels={"app": "db"}))
        web = await store.list("default", labels=[("app", "web")])
        empty_value = await store.list("default", labels=[("tier", "")])
        both = await store.list("default", labels=[("app", "web"), ("tier", "")])
        conflicting = await store.list(
            "default", labels=[("app", "web"), ("app", "db")]
        )
    finally:
        await store.close()

    assert [row.metadata.id for row in web] == ["id-1", "id-2"]
    assert [row.metadata.id for row in empty_value] == ["id-1"]
    assert [row.metadata.id for row in both] == ["id-1"]
    assert conflicting == []


async def test_unknown_fields_survive(tmp_path: Path) -> None:
    # Field 7 of SandboxSpec is upstream's policy, undeclared in this proto.
    row = make_row("id-1", "calm-otter")
    raw_spec = b"\x3a\x05hello" + api.SandboxSpec(log_level="info").SerializeToString()
    row.spec.ParseFromString(raw_spec)
    store = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        created = await store.create(row)
        created.status.phase = api.SANDBOX_PHASE_READY
        await store.update(created, 1)
    finally:
        await store.close()

    reopened = open_store(f"sqlite:{tmp_path}/gw.db")
    try:
        stored = await reopened.get("id-1")
    finally:
        await reopened.close()

    assert stored is not None
    assert b"\x3a\x05hello" in stored.spec.SerializeToString()
    assert stored.spec.log_level == "info"


async def test_file_modes(tmp_path: Path) -> None:
    path = tmp_path / "state" / "openshell" / "gateway" / "openshell.db"
    store = open_store(f"sqlite:{path}")
    try:
        await store.create(make_row("id-1", "calm-otter"))
        companions = [
            path.with_name(path.name + suffix)
            for suffix in ("-wal", "-shm")
            if path.with_name(path.name + suffix).exists()
        ]
        companion_modes = [mode_of(companion) for companion in companions]
    finally:
        await store.close()

    assert mode_of(path) == 0o600
    assert companions, "WAL mode should create -wal and -shm files"
    assert companion_modes == [0o600] * len(companions)
    for directory in (path.parent, path.parent.parent, path.parent.parent.parent):
        assert mode_of(directory) == 0o700


async def test_existing_file_tightened(tmp_path: Path) -> None:
    path = tmp_path / "gw.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)

    store = open_store(f"sqlite:{path}")
    await store.close()

    assert mode_of(path) == 0o600


async def test_rows_persist_across_reopen(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path}/gw.db")
    try:
        row = make_row("id-1", "calm-otter")
        row.status.phase = api.SANDBOX_PHASE_STOPPED
        await store.create(row)
    finally:
        await store.close()

    reopened = open_store(f"sqlite:{tmp_path}/gw.db?mode=rwc")
    try:
        stored = await reopened.get("id-1")
    finally:
        await reopened.close()

    assert stored is not None
    assert stored.status.phase == api.SANDBOX_PHASE_STOPPED


async def test_memory_database() -> None:
    store = open_store("sqlite::memory:")
    try:
        await store.create(make_row("id-1", "calm-otter"))
        assert [row.metadata.id for row in await store.all()] == ["id-1"]
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://gw@localhost/openshell",
            "database URL 'postgresql://gw@localhost/openshell': PostgreSQL stores "
            "are not supported yet; use a sqlite:PATH URL",
        ),
        (
            "mysql://localhost/db",
            "database URL 'mysql://localhost/db' has an unknown scheme; use sqlite:PATH",
        ),
        ("sqlite:", "database URL 'sqlite:' has no file path; use sqlite:PATH"),
        (
            "sqlite:/tmp/x.db?cache=shared",
            "database URL 'sqlite:/tmp/x.db?cache=shared': query parameters other "
            "than mode=rwc are not supported",
        ),
    ],
)
def test_rejected_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        open_store(url)

    assert str(raised.value) == message


def test_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")

    with pytest.raises(StoreError) as raised:
        SqliteStore(str(blocker / "gw.db"))

    assert str(raised.value).startswith(
        f"cannot create the sandbox database '{blocker}"
    )


def test_url_password_is_masked() -> None:
    with pytest.raises(ConfigError) as raised:
        open_store("postgresql://user:secretpw@127.0.0.1:5432/db")

    assert "secretpw" not in str(raised.value)
    assert "postgresql://user:***@127.0.0.1:5432/db" in str(raised.value)


def test_second_store_on_one_file_rejected(tmp_path: Path) -> None:
    path = str(tmp_path / "gw.db")
    first = SqliteStore(path)
    try:
        with pytest.raises(StoreError) as raised:
            SqliteStore(path)
        assert str(raised.value) == (
            f"the sandbox database '{path}' is in use by another gateway (pid "
            f"{os.getpid()}); stop that gateway or give this one its own --db-url"
        )
    finally:
        asyncio.run(first.close())

    reopened = SqliteStore(path)
    asyncio.run(reopened.close())
