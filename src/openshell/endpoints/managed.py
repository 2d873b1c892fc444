"""Managed drivers: a driver program that the gateway starts on a private socket."""

from __future__ import annotations

import asyncio
import collections
import ctypes
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from openshell.endpoints.remote import RemoteDriver
from openshell.errors import DriverError, DriverStartError
from openshell.plugin import ManagedCommand
from openshell.sdk.caller_auth import SECRET_FD_VARIABLE, new_launch_secret
from openshell.unix_sockets import check_socket_path, prepare_private_directory

READY_TIMEOUT_SECONDS = 10.0
READY_POLL_SECONDS = 0.1
TERMINATE_GRACE_SECONDS = 5.0
STDERR_TAIL_LINES = 20
SOCKET_NAME = "compute-driver.sock"

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel to kill the child when the gateway dies (runs in the child)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ManagedProcess:
    """A started driver program, its private directory and the client to it."""

    name: str
    process: asyncio.subprocess.Process
    directory: Path
    driver: RemoteDriver
    stderr_tail: collections.deque[str]
    stderr_task: asyncio.Task[None]
    terminating: bool = False
    exit_task: asyncio.Task[None] | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory / SOCKET_NAME

    def problem(self) -> str | None:
        """Return why the driver program cannot serve calls, or None."""
        returncode = self.process.returncode
        if returncode is None:
            return None
        return (
            f"compute driver '{self.name}' exited with {_exit_description(returncode)}"
        )

    def watch_exit(self) -> None:
        """Log an error as soon as the program exits without being asked to."""
        self.exit_task = asyncio.create_task(self._report_exit())

    async def _report_exit(self) -> None:
        await self.process.wait()
        if self.terminating:
            return
        await self.stderr_task
        stderr = "\n".join(self.stderr_tail) or "(no output on stderr)"
        logger.bind(driver=self.name).error(
            "compute driver '{}' (pid {}) exited unexpectedly with {}; driver calls "
            "fail until the gateway is restarted; end of its stderr:\n{}",
            self.name,
            self.process.pid,
            _exit_description(self.process.returncode or 0),
            stderr,
        )

    async def terminate(self) -> None:
        """Send SIGTERM, wait up to 5 s, then SIGKILL; reap; remove the socket."""
        self.terminating = True
        await self.driver.close()
        if self.process.returncode is None:
            logger.info(
                "stopping compute driver '{}' (pid {})", self.name, self.process.pid
            )
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), TERMINATE_GRACE_SECONDS)
            except TimeoutError:
                logger.warning(
                    "compute driver '{}' ignored SIGTERM for {:g}s; killing it",
                    self.name,
                    TERMINATE_GRACE_SECONDS,
                )
                self.process.kill()
                await self.process.wait()
        await self.stderr_task
        if self.exit_task is not None:
            await self.exit_task
        shutil.rmtree(self.directory, ignore_errors=True)
        logger.info(
            "compute driver '{}' exited with status {}; removed {}",
            self.name,
            self.process.returncode,
            self.directory,
        )


async def _forward_stderr(
    name: str, stream: asyncio.StreamReader, tail: collections.deque[str]
) -> None:
    """Log each stderr line of the driver program and keep the last few."""
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        tail.append(text)
        logger.bind(driver=name).info("{}", text)


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


async def start_managed_driver(
    name: str, command: ManagedCommand, state_dir: Path
) -> ManagedProcess:
    """Start a driver program on a fresh private socket and wait until it is ready.

    Ready means a GetCapabilities call succeeds. Fails at once, with the exit
    status and the end of its stderr, when the program exits before that.
    """
    directory = state_dir / "drivers" / name
    if directory.exists():
        shutil.rmtree(directory)
    prepare_private_directory(directory)
    socket_path = directory / SOCKET_NAME
    check_socket_path(os.fspath(socket_path), f"managed compute driver '{name}'")

    secret = new_launch_secret()
    read_end, write_end = os.pipe()
    os.write(write_end, secret.encode())
    os.close(write_end)

    argv = [*command.argv, "--bind-socket", os.fspath(socket_path)]
    env = {**os.environ, **command.env, SECRET_FD_VARIABLE: str(read_end)}
    logger.info("starting compute driver '{}': {}", name, " ".join(argv))
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            pass_fds=(read_end,),
            preexec_fn=_die_with_parent,
        )
    except OSError as error:
        shutil.rmtree(directory, ignore_errors=True)
        raise DriverStartError(
            f"cannot start compute driver '{name}' program {argv[0]!r}: {error}"
        ) from None
    finally:
        os.close(read_end)

    assert process.stderr is not None
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    stderr_task = asyncio.create_task(_forward_stderr(name, process.stderr, tail))
    managed = ManagedProcess(
        name,
        process,
        directory,
        RemoteDriver(os.fspath(socket_path), secret=secret),
        tail,
        stderr_task,
    )
    try:
        await _wait_until_ready(managed)
    except BaseException:
        await managed.terminate()
        raise
    managed.watch_exit()
    return managed


async def _wait_until_ready(managed: ManagedProcess) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if managed.process.returncode is not None:
            await managed.stderr_task
            raise DriverStartError(_exited_message(managed))
        if managed.socket_path.exists():
            try:
                await managed.driver.get_capabilities()
                return
            except DriverError as error:
                last_error = f"{error.code.name}: {error.message}"
        await asyncio.sleep(READY_POLL_SECONDS)
    raise DriverStartError(
        f"timed out waiting for compute driver '{managed.name}' socket "
        f"'{managed.socket_path}' after {READY_TIMEOUT_SECONDS:g}s: {last_error}"
    )


def _exited_message(managed: ManagedProcess) -> str:
    returncode = managed.process.returncode
    assert returncode is not None
    stderr = "\n".join(managed.stderr_tail) or "(no output on stderr)"
    return (
        f"compute driver '{managed.name}' exited before becoming ready with "
        f"{_exit_description(returncode)}; end of its stderr:\n{stderr}"
    )
