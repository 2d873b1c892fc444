"""SQLite implementation of the sandbox store, and `open_store` for store URLs.

The stdlib `sqlite3` module blocks, so one dedicated thread owns the
connection and runs every statement; the event loop only awaits its results.
The database runs in WAL mode. Its directory is created with mode 0700 and
the database file (with its `-wal` and `-shm` companions) gets mode 0600,
because rows can carry environment values that users consider private.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, TextIO, TypeVar

from loguru import logger

from openshell.config.gateway_config import mask_url
from openshell.errors import ConfigError, StoreError
from openshell.gateway.errors import NameConflictError, VersionConflictError
from openshell.gateway.store import SandboxStore
from openshell.proto import openshell_pb2 as api

T = TypeVar("T")

SQLITE_SCHEME: Final = "sqlite:"
POSTGRES_SCHEMES: Final = ("postgresql:", "postgres:")
MEMORY_DATABASE: Final = ":memory:"
SCHEMA_VERSION: Final = 1
BUSY_TIMEOUT_MS: Final = 5000
DIRECTORY_MODE: Final = 0o700
FILE_MODE: Final = 0o600
COMPANION_SUFFIXES: Final = ("-wal", "-shm", "-journal")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS sandboxes (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    resource_version INTEGER NOT NULL,
    phase INTEGER NOT NULL,
    labels TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (workspace, name)
);
CREATE INDEX IF NOT EXISTS sandboxes_list_order
    ON sandboxes (created_at_ms, name, workspace, id);
"""

_ORDER: Final = " ORDER BY created_at_ms, name, workspace, id"


def open_store(url: str) -> SandboxStore:
    """Open the store that a `--db-url` value names.

    `sqlite:PATH` (also `sqlite://PATH` and `sqlite::memory:`) opens or
    creates a SQLite database. PostgreSQL URLs and unknown schemes raise
    `ConfigError` naming the URL, with any password masked.
    """
    return SqliteStore(check_store_url(url))


def check_store_url(url: str) -> str:
    """Return the SQLite path a `--db-url` value names, or raise ConfigError.

    Checks the URL without opening or creating anything, for `config check`.
    """
    if url.startswith(SQLITE_SCHEME):
        return _sqlite_path(url)
    if url.startswith(POSTGRES_SCHEMES):
        raise ConfigError(
            f"database URL '{mask_url(url)}': PostgreSQL stores are not supported "
            "yet; use a sqlite:PATH URL"
        )
    raise ConfigError(
        f"database URL '{mask_url(url)}' has an unknown scheme; use sqlite:PATH"
    )


def _sqlite_path(url: str) -> str:
    path = url[len(SQLITE_SCHEME) :]
    if path.startswith("//"):
        path = path[2:]
    path, _, query = path.partition("?")
    if query and query != "mode=rwc":
        raise ConfigError(
            f"database URL '{url}': query parameters other than mode=rwc are not "
            "supported"
        )
    if not path:
        raise ConfigError(f"database URL '{url}' has no file path; use sqlite:PATH")
    return path


class SqliteStore(SandboxStore):
    """Sandbox rows in one SQLite file, accessed from a dedicated thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock_file = None if path == MEMORY_DATABASE else _lock_database(path)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="openshell-store"
        )
        try:
            self._connection = self._executor.submit(self._connect).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            self._unlock()
            raise
        logger.bind(path=path).debug("sandbox store opened")

    @property
    def path(self) -> str:
        return self._path

    def _connect(self) -> sqlite3.Connection:
        if self._path != MEMORY_DATABASE:
            _prepare_database_file(Path(self._path))
        try:
            connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as error:
            raise StoreError(
                f"cannot open the sandbox database '{self._path}': {error}"
            ) from error
        if self._path != MEMORY_DATABASE:
            _restrict_companion_files(Path(self._path))
        return connection

    async def _run(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return work(self._connection)
            except sqlite3.Error as error:
                raise StoreError(
                    f"{operation} failed on the sandbox database '{self._path}': "
                    f"{error}"
                ) from error

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call)

    async def create(self, sandbox: api.Sandbox) -> api.Sandbox:
        row = api.Sandbox()
        row.CopyFrom(sandbox)
        row.metadata.resource_version = 1

        def insert(connection: sqlite3.Connection) -> None:
            try:
                connection.execute(
                    "INSERT INTO sandboxes (id, workspace, name, created_at_ms, "
                    "resource_version, phase, labels, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.metadata.id,
                        row.metadata.workspace,
                        row.metadata.name,
                        row.metadata.created_at_ms,
                        row.metadata.resource_version,
                        row.status.phase,
                        _labels_json(row),
                        row.SerializeToString(),
                    ),
                )
            except sqlite3.IntegrityError as error:
                if "sandboxes.id" in str(error):
                    raise StoreError(
                        f"sandbox ID {row.metadata.id} is already stored"
                    ) from error
                raise NameConflictError(
                    row.metadata.workspace, row.metadata.name
                ) from error

        await self._run("insert sandbox", insert)
        return row

    async def get(self, sandbox_id: str) -> api.Sandbox | None:
        def select(connection: sqlite3.Connection) -> bytes | None:
            found = connection.execute(
                "SELECT data FROM sandboxes WHERE id = ?", (sandbox_id,)
            ).fetchone()
            return None if found is None else bytes(found[0])

        data = await self._run("read sandbox", select)
        return None if data is None else _decode(data)

    async def get_by_name(self, workspace: str, name: str) -> api.Sandbox | None:
        def select(connection: sqlite3.Connection) -> bytes | None:
            found = connection.execute(
                "SELECT data FROM sandboxes WHERE workspace = ? AND name = ?",
                (workspace, name),
            ).fetchone()
            return None if found is None else bytes(found[0])

        data = await self._run("read sandbox", select)
        return None if data is None else _decode(data)

    async def list(
        self,
        workspace: str | None,
        *,
        labels: Sequence[tuple[str, str]] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[api.Sandbox]:
        clauses: list[str] = []
        parameters: list[object] = []
        if workspace is not None:
            clauses.append("workspace = ?")
            parameters.append(workspace)
        for key, value in labels:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(sandboxes.labels) "
                "WHERE json_each.key = ? AND json_each.value = ?)"
            )
            parameters.extend((key, value))
        query = "SELECT data FROM sandboxes"
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += _ORDER
        # SQLite needs a LIMIT before OFFSET; -1 means no limit.
        query += " LIMIT ? OFFSET ?"
        parameters.extend((-1 if limit is None else limit, offset))

        def select(connection: sqlite3.Connection) -> list[bytes]:
            return [bytes(found[0]) for found in connection.execute(query, parameters)]

        return [_decode(data) for data in await self._run("list sandboxes", select)]

    async def update(
        self, sandbox: api.Sandbox, expected_resource_version: int
    ) -> api.Sandbox:
        row = api.Sandbox()
        row.CopyFrom(sandbox)
        row.metadata.resource_version = expected_resource_version + 1

        def replace(connection: sqlite3.Connection) -> int:
            try:
                cursor = connection.execute(
                    "UPDATE sandboxes SET name = ?, resource_version = ?, phase = ?, "
                    "labels = ?, data = ? WHERE id = ? AND resource_version = ?",
                    (
                        row.metadata.name,
                        row.metadata.resource_version,
                        row.status.phase,
                        _labels_json(row),
                        row.SerializeToString(),
                        row.metadata.id,
                        expected_resource_version,
                    ),
                )
            except sqlite3.IntegrityError as error:
                raise NameConflictError(
                    row.metadata.workspace, row.metadata.name
                ) from error
            return cursor.rowcount

        if await self._run("update sandbox", replace) != 1:
            raise VersionConflictError(row.metadata.id, expected_resource_version)
        return row

    async def delete(self, sandbox_id: str) -> bool:
        def remove(connection: sqlite3.Connection) -> int:
            return connection.execute(
                "DELETE FROM sandboxes WHERE id = ?", (sandbox_id,)
            ).rowcount

        return await self._run("delete sandbox", remove) == 1

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=True)
        self._unlock()
        logger.bind(path=self._path).debug("sandbox store closed")

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the lock
            self._lock_file = None


def _lock_database(path: str) -> TextIO:
    """Take the exclusive lock that makes this process the database's only user.

    Two gateways on one SQLite file would each sweep and reconcile the same
    rows against their own driver, so a second one fails at start-up. The
    lock is on `PATH.lock`, which keeps the owner's PID for the message.
    """
    lock_path = Path(f"{path}.lock")
    _prepare_database_file(Path(path))
    lock_file = lock_path.open("a+")
    os.chmod(lock_path, FILE_MODE)
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        owner = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise StoreError(
            f"the sandbox database '{path}' is in use by another gateway (pid "
            f"{owner}); stop that gateway or give this one its own --db-url"
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return lock_file


def _prepare_database_file(path: Path) -> None:
    """Create missing parent directories 0700 and the database file 0600."""
    missing = [parent for parent in reversed(path.parents) if not parent.exists()]
    try:
        for directory in missing:
            directory.mkdir(mode=DIRECTORY_MODE)
            os.chmod(directory, DIRECTORY_MODE)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        os.close(descriptor)
        os.chmod(path, FILE_MODE)
    except OSError as error:
        raise StoreError(
            f"cannot create the sandbox database '{path}': {error.strerror}"
        ) from error


def _restrict_companion_files(path: Path) -> None:
    """Set mode 0600 on the WAL, shared-memory and journal files that exist.

    SQLite already creates them with the database file's mode minus the
    umask; this also tightens files left by an older, looser installation.
    """
    for suffix in COMPANION_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        try:
            os.chmod(companion, FILE_MODE)
        except FileNotFoundError:
            continue


def _labels_json(sandbox: api.Sandbox) -> str:
    return json.dumps(dict(sandbox.metadata.labels), sort_keys=True)


def _decode(data: bytes) -> api.Sandbox:
    sandbox = api.Sandbox()
    sandbox.ParseFromString(data)
    return sandbox
