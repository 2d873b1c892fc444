"""Driver SDK socket preparation: limits, private directory, stale sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from openshell.errors import ConfigError
from openshell.sdk import MAX_SOCKET_PATH_BYTES, check_socket_path, start_driver_server
from openshell.unix_sockets import prepare_private_directory, remove_stale_socket
from tests.support.plugins import MEMORY_DRIVER_PROGRAM


@pytest.fixture
def short_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="oss-") as directory:
        yield Path(directory)


def test_socket_path_over_limit_shows_length() -> None:
    path = "/" + "s" * MAX_SOCKET_PATH_BYTES

    with pytest.raises(ConfigError) as caught:
        check_socket_path(path, "--bind-socket")

    assert str(caught.value) == (
        f"socket path '{path}' from --bind-socket is 108 bytes long, but Unix "
        "socket paths on Linux are limited to 107 bytes: use a shorter path"
    )


def test_socket_path_at_limit_is_accepted() -> None:
    check_socket_path("/" + "s" * (MAX_SOCKET_PATH_BYTES - 1), "--bind-socket")


def test_relative_socket_path_rejected() -> None:
    with pytest.raises(ConfigError, match="is not absolute"):
        check_socket_path("driver.sock", "--bind-socket")


def test_shared_sticky_directory_rejected() -> None:
    with pytest.raises(ConfigError, match="is shared by all users"):
        prepare_private_directory(Path("/tmp"))


def test_private_directory_tightened(short_dir: Path) -> None:
    directory = short_dir / "run"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)

    prepare_private_directory(directory)

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_stale_socket_removed(short_dir: Path) -> None:
    path = short_dir / "stale.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.close()  # the file stays, but nothing listens

    remove_stale_socket(path)

    assert not path.exists()


def test_live_socket_kept(short_dir: Path) -> None:
    path = short_dir / "live.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    try:
        with pytest.raises(ConfigError, match="is in use by a running process"):
            remove_stale_socket(path)
        assert path.exists()
    finally:
        listener.close()


def test_regular_file_not_removed(short_dir: Path) -> None:
    path = short_dir / "notasocket"
    path.write_text("data")

    with pytest.raises(ConfigError, match="exists and is not a socket"):
        remove_stale_socket(path)

    assert path.read_text() == "data"


def test_server_socket_mode_and_removal(short_dir: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(MEMORY_DRIVER_PROGRAM, "memdriver_program", "exec"), namespace)
    driver_class = namespace["MemoryDriver"]
    path = short_dir / "private" / "driver.sock"

    async def scenario() -> None:
        server = await start_driver_server(driver_class(), path)  # type: ignore[operator]
        try:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        finally:
            await server.stop()
        assert not path.exists()

    asyncio.run(scenario())
