"""Pytest fixtures for the QEMU microVM test backend.

Load with `-p tests.backends.qemu_fixtures` or list the module in pytest_plugins.
A backend that cannot prepare or boot fails the test with the end of its logs
and is never skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.backends.qemu import (
    BOOT_TIMEOUT_SECONDS,
    GuestAssets,
    RunningGuest,
    prepare_assets,
    start_guest,
)
from tests.backends.qemu_image import QemuBackendError

log = logging.getLogger(__name__)

# Seconds taken to prepare and boot, for the summary of all test backends.
# "cold" means prepare had to download the kernel or build the initramfs.
START_TIMES: dict[str, float] = {}


def fail_without_traceback(message: str) -> NoReturn:
    """Fail the current test with message, hiding the exception being handled.

    pytest.fail inside an except block would print the message twice, once for
    the original exception and once for the failure.
    """
    raise pytest.fail.Exception(message, pytrace=False) from None


@pytest.fixture(scope="session")
def qemu_guest_assets() -> GuestAssets:
    """Return the guest kernel, initramfs, QEMU binary and accelerator.

    The first run on a machine downloads the kernel package and builds the
    initramfs into ~/.cache/openshell-test-backends/qemu. Later runs reuse them.
    """
    started = time.monotonic()
    try:
        assets = prepare_assets()
    except QemuBackendError as error:
        fail_without_traceback(f"QEMU test backend failed to prepare: {error}")
    state = "warm" if assets.cached else "cold"
    START_TIMES[f"qemu ({state} prepare)"] = time.monotonic() - started
    log.info("QEMU guest assets (%s): %s", state, assets)
    return assets


def boot_qemu_guest(
    assets: GuestAssets, root: Path, timeout: float = BOOT_TIMEOUT_SECONDS
) -> RunningGuest:
    """Boot a guest under root and record its boot time in START_TIMES.

    Fails the calling test with the end of the console and QEMU logs if the
    guest does not become ready. The caller stops the guest.
    """
    try:
        guest = start_guest(assets, root, timeout)
    except QemuBackendError as error:
        fail_without_traceback(f"QEMU test backend failed to boot: {error}")
    START_TIMES.setdefault(f"qemu (first boot, {guest.accel})", guest.boot_seconds)
    state = "warm" if assets.cached else "cold"
    prepare_key = f"qemu ({state} prepare)"
    start_key = f"qemu ({state} start, prepare and first boot)"
    if prepare_key in START_TIMES and start_key not in START_TIMES:
        START_TIMES[start_key] = START_TIMES[prepare_key] + guest.boot_seconds
    return guest


@pytest.fixture
def qemu_guest(
    qemu_guest_assets: GuestAssets, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGuest]:
    """Yield a booted guest and stop it after the test, if the test did not."""
    # start_guest rejects a socket path over the Unix limit of 107 bytes. Under
    # pytest's default base directory in /tmp the path is about 55 bytes.
    root = tmp_path_factory.mktemp("qemu")
    guest = boot_qemu_guest(qemu_guest_assets, root)
    yield guest
    guest.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the microVM backend's start times, when a guest was booted."""
    if not START_TIMES:
        return
    parts = [f"{name} {seconds:.1f} s" for name, seconds in START_TIMES.items()]
    terminalreporter.write_line("microVM backend times: " + ", ".join(parts))
