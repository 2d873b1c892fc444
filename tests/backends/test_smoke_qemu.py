"""Smoke test of the QEMU microVM backend: boot, run a command, stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.qemu import RunningGuest
from tests.backends.qemu_image import READY_LINE


def process_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.mark.slow
def test_guest_boots_runs_command_and_stops(qemu_guest: RunningGuest) -> None:
    console = qemu_guest.paths.console_log.read_text(errors="replace")
    assert f"{READY_LINE} kernel=" in console
    assert qemu_guest.ready_line.startswith(READY_LINE)

    echo = qemu_guest.run("echo hello")
    assert echo.output == "hello\n"
    assert echo.exit_status == 0

    release = qemu_guest.run("uname -r")
    assert release.exit_status == 0
    assert release.output.strip() == qemu_guest.ready_line.split("kernel=")[1]

    failing = qemu_guest.run("echo oops >&2; exit 3")
    assert failing.output == "oops\n"
    assert failing.exit_status == 3

    # The guest must have no network device other than loopback.
    interfaces = qemu_guest.run("ls /sys/class/net")
    assert interfaces.output.split() == ["lo"]

    pid = qemu_guest.pid
    assert process_exists(pid)
    qemu_guest.stop()
    assert qemu_guest.process.returncode is not None
    assert not process_exists(pid)
    assert not qemu_guest.paths.pidfile.exists()
    assert not qemu_guest.paths.command_socket.exists()
