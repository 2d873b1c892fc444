"""Prepare, start and stop a QEMU microVM guest for the compute driver tests.

The guest runs Debian's cloud kernel with a busybox initramfs. Its init prints
READY_LINE on the serial console (ttyS0) and then serves a command channel on a
second serial port (ttyS1), which QEMU exposes on the host as a Unix socket.
The guest has no network device.

Command line, for use outside pytest::

    python -m tests.backends.qemu prepare
    python -m tests.backends.qemu start [--root DIR]
    python -m tests.backends.qemu status [--root DIR]
    python -m tests.backends.qemu stop [--root DIR]

`start` prints KEY=VALUE lines (QEMU_PID, CONSOLE_LOG, COMMAND_SOCKET, ACCEL,
BOOT_SECONDS, KERNEL, INITRD), and so does `status`, which exits with 3 when no
guest runs. `stop` stops only the QEMU whose PID is in the pidfile under the
root directory.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.backends.qemu_image import (
    COMMAND_END,
    READY_LINE,
    QemuBackendError,
    build_initramfs,
    fetch_kernel,
    initramfs_digest,
    resolve_kernel_package,
)

log = logging.getLogger(__name__)

QEMU_BINARY = "qemu-system-x86_64"

ROOT_ENV = "OPENSHELL_TEST_ROOT"
DEFAULT_ROOT = Path("/tmp/openshell-test")
ACCEL_ENV = "OPENSHELL_QEMU_ACCEL"
CACHE_ENV = "OPENSHELL_QEMU_CACHE"

# Under TCG the guest printed its ready line 2.6 to 2.9 s after QEMU started on a
# 2-core AMD EPYC virtual machine with QEMU 7.2, and after 11 s with three busy
# loops sharing QEMU's core. The deadline leaves room for a busier host.
BOOT_TIMEOUT_SECONDS = 60.0
# NOTE: an estimate. A KVM boot of this guest should take well under a second,
# but no host where KVM runs a stock Debian kernel was at hand to measure it.
KVM_PROBE_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 10.0
REAP_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 10.0

# Exit status of `status` when no guest runs, as in LSB init scripts.
STATUS_NOT_RUNNING = 3

# From <linux/prctl.h>.
PR_SET_PDEATHSIG = 1

# sun_path is 108 bytes long, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107

# QEMU writes the console log a byte at a time, so only a line with its line
# break is complete.
READY_PATTERN = re.compile(rf"^{READY_LINE} kernel=(\S+)\r?\n", re.MULTILINE)


@dataclass(frozen=True)
class GuestAssets:
    """Files and settings needed to boot a guest.

    `cached` is True when prepare_assets found the kernel and the initramfs in
    the cache and built nothing.
    """

    kernel: Path
    initrd: Path
    qemu: Path
    accel: str
    kernel_version: str
    cached: bool


@dataclass(frozen=True)
class GuestPaths:
    """Runtime files of one guest, all under `directory`."""

    directory: Path

    @property
    def pidfile(self) -> Path:
        return self.directory / "qemu.pid"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"

    @property
    def qemu_log(self) -> Path:
        return self.directory / "qemu.log"

    @property
    def command_socket(self) -> Path:
        return self.directory / "command.sock"

    @property
    def env_file(self) -> Path:
        return self.directory / "guest.env"


@dataclass(frozen=True)
class CommandResult:
    """Output (stdout and stderr interleaved) and exit status of a guest command."""

    output: str
    exit_status: int


@dataclass
class RunningGuest:
    """A booted guest, owned by the process that started it."""

    process: subprocess.Popen[bytes]
    paths: GuestPaths
    accel: str
    boot_seconds: float
    ready_line: str
    assets: GuestAssets

    @property
    def pid(self) -> int:
        return self.process.pid

    def run(
        self, command: str, timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> CommandResult:
        """Run a shell command in the guest over the command channel."""
        return run_command(self.paths.command_socket, command, timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop QEMU, reap it and remove the pidfile and the socket. Idempotent."""
        if self.process.poll() is None:
            log.info("stopping QEMU pid=%d", self.process.pid)
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "QEMU pid=%d ignored SIGTERM for %.0f s, sending SIGKILL",
                    self.process.pid,
                    timeout,
                )
                self.process.kill()
                self.process.wait(timeout)
        remove_runtime_files(self.paths)

    def as_env(self) -> dict[str, str]:
        """Return the KEY=VALUE pairs that the `start` command prints."""
        return {
            "QEMU_PID": str(self.pid),
            "CONSOLE_LOG": str(self.paths.console_log),
            "COMMAND_SOCKET": str(self.paths.command_socket),
            "ACCEL": self.accel,
            "BOOT_SECONDS": f"{self.boot_seconds:.2f}",
            "KERNEL": str(self.assets.kernel),
            "INITRD": str(self.assets.initrd),
        }


# Assets


def default_cache_dir() -> Path:
    """Return the asset cache: $OPENSHELL_QEMU_CACHE, else under ~/.cache."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openshell-test-backends" / "qemu"


def prepare_assets(cache_dir: Path | None = None) -> GuestAssets:
    """Fetch the guest kernel, build the initramfs and choose the accelerator.

    Both files are cached under cache_dir, keyed on the kernel package version
    and on a hash of the init script and busybox binary, so a second call
    builds nothing.
    """
    cache_dir = cache_dir or default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    qemu = find_qemu()

    package, version = resolve_kernel_package()
    kernel = cache_dir / f"{package}_{version}" / "vmlinuz"
    kernel_cached = kernel.is_file()
    if kernel_cached:
        log.info("guest kernel %s %s found in the cache", package, version)
    else:
        fetch_kernel(package, version, kernel)

    initrd = cache_dir / f"initramfs-{initramfs_digest()}.cpio.gz"
    initrd_cached = initrd.is_file()
    if initrd_cached:
        log.info("initramfs found in the cache: %s", initrd)
    else:
        build_initramfs(initrd)

    accel = choose_accel(qemu, kernel, initrd, cache_dir, f"{package}_{version}")
    return GuestAssets(
        kernel=kernel,
        initrd=initrd,
        qemu=qemu,
        accel=accel,
        kernel_version=version,
        cached=kernel_cached and initrd_cached,
    )


def find_qemu() -> Path:
    found = shutil.which(QEMU_BINARY)
    if found is None:
        raise QemuBackendError(
            f"{QEMU_BINARY} not found in PATH; install the Debian package "
            "qemu-system-x86"
        )
    return Path(found)


# Accelerator


def choose_accel(
    qemu: Path, kernel: Path, initrd: Path, cache_dir: Path, kernel_key: str
) -> str:
    """Return "kvm" if a probe boot under KVM reaches user space, else "tcg".

    Some hosts expose /dev/kvm through a hypervisor that runs only specially
    built guest kernels (for example kvm_pvm), where a stock kernel hangs. The
    probe result is cached per host kernel release and guest kernel. Setting
    OPENSHELL_QEMU_ACCEL to kvm or tcg skips the probe.
    """
    forced = os.environ.get(ACCEL_ENV)
    if forced:
        if forced not in ("kvm", "tcg"):
            raise QemuBackendError(f"{ACCEL_ENV}={forced!r} is invalid; use kvm or tcg")
        log.info("accelerator %s set by %s", forced, ACCEL_ENV)
        return forced

    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        log.info("accelerator tcg: /dev/kvm is missing or not accessible")
        return "tcg"

    record = cache_dir / f"accel-{os.uname().release}-{kernel_key}.txt"
    recorded = record.read_text().strip() if record.is_file() else ""
    if recorded in ("kvm", "tcg"):
        log.info("accelerator %s, from the probe result in %s", recorded, record)
        return recorded

    accel = "kvm" if probe_kvm(qemu, kernel, initrd) else "tcg"
    record.write_text(accel + "\n")
    log.info("accelerator %s chosen by a probe boot under KVM", accel)
    return accel


def probe_kvm(qemu: Path, kernel: Path, initrd: Path) -> bool:
    """Boot the guest under KVM and return whether it became ready in time."""
    assets = GuestAssets(
        kernel=kernel,
        initrd=initrd,
        qemu=qemu,
        accel="kvm",
        kernel_version="",
        cached=True,
    )
    with tempfile.TemporaryDirectory(prefix="osq-probe-", dir="/tmp") as root:
        try:
            guest = start_guest(assets, Path(root), KVM_PROBE_SECONDS)
        except QemuBackendError as error:
            log.info("KVM probe boot failed: %s", first_line(str(error)))
            return False
        guest.stop()
    log.info("KVM probe boot became ready in %.2f s", guest.boot_seconds)
    return True


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


# Guest lifecycle


def guest_paths(root: Path) -> GuestPaths:
    """Return the runtime paths of the guest under root, checking socket length."""
    paths = GuestPaths(root / "qemu")
    socket_bytes = len(os.fsencode(paths.command_socket))
    if socket_bytes > MAX_SOCKET_PATH_BYTES:
        raise QemuBackendError(
            f"socket path {paths.command_socket} is {socket_bytes} bytes, over "
            f"the {MAX_SOCKET_PATH_BYTES}-byte limit of Unix sockets; choose a "
            "shorter root directory under /tmp"
        )
    return paths


def qemu_command(assets: GuestAssets, paths: GuestPaths) -> list[str]:
    """Return the QEMU command line for one guest with no network device."""
    return [
        str(assets.qemu),
        "-M", "microvm",
        "-accel", assets.accel,
        "-nodefaults",
        "-no-reboot",
        "-display", "none",
        "-m", "256M",
        "-smp", "1",
        "-kernel", str(assets.kernel),
        "-initrd", str(assets.initrd),
        "-append", kernel_command_line(),
        "-chardev", f"file,id=console,path={paths.console_log}",
        "-serial", "chardev:console",
        "-chardev",
        f"socket,id=command,path={paths.command_socket},server=on,wait=off",
        # index=1 puts the port at the standard COM2 address, which the guest's
        # built-in 8250 driver finds as ttyS1.
        "-device", "isa-serial,chardev=command,index=1",
    ]  # fmt: skip


def kernel_command_line() -> str:
    """Return the guest kernel command line.

    panic=-1 reboots at once on a panic, and -no-reboot turns that into an exit
    of QEMU, so a guest whose init fails does not linger.
    """
    arguments = ["console=ttyS0", "panic=-1"]
    tsc_khz = host_tsc_khz()
    if tsc_khz is not None:
        arguments.append(f"tsc_early_khz={tsc_khz}")
    return " ".join(arguments)


def host_tsc_khz() -> int | None:
    """Return the host CPU frequency in kHz from /proc/cpuinfo, if it shows one.

    Under TCG the guest's TSC counts at the host's TSC rate. A guest kernel
    that calibrates its TSC against the emulated PIT fails when the host is
    busy, marks the TSC unstable and then hangs during boot. This was seen with
    Debian kernel 6.1 on QEMU 7.2 while other processes shared QEMU's core, so
    the guest gets the frequency on its command line instead.
    """
    # NOTE: "cpu MHz" equals the TSC rate on virtual machines and on hosts
    # without frequency scaling. Where it differs, the guest clock runs fast or
    # slow by the same ratio. The smoke test does not read the guest clock.
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError as error:
        log.warning("cannot read /proc/cpuinfo for the TSC rate: %s", error)
        return None
    match = re.search(r"^cpu MHz\s*:\s*([\d.]+)$", cpuinfo, re.MULTILINE)
    if match is None:
        log.warning("/proc/cpuinfo shows no cpu MHz; the guest calibrates its TSC")
        return None
    return round(float(match.group(1)) * 1000)


def start_guest(
    assets: GuestAssets,
    root: Path,
    timeout: float = BOOT_TIMEOUT_SECONDS,
    outlive_caller: bool = False,
) -> RunningGuest:
    """Boot one guest with its runtime files under root/qemu.

    Waits until the ready line appears on the serial console. On a timeout or
    an early exit of QEMU, stops QEMU and raises QemuBackendError with the end
    of the console log and of QEMU's own output. Unless outlive_caller is set,
    the kernel sends QEMU SIGTERM when the calling thread exits, so a killed
    test run leaves no guest behind.
    """
    paths = guest_paths(root)
    paths.directory.mkdir(parents=True, exist_ok=True)
    remove_runtime_files(paths)
    command = qemu_command(assets, paths)
    log.info("starting QEMU (accel %s): %s", assets.accel, " ".join(command))

    started = time.monotonic()
    with paths.qemu_log.open("wb") as qemu_output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=qemu_output,
            stderr=subprocess.STDOUT,
            # A new session keeps QEMU out of reach of signals sent to the
            # caller's process group, such as Ctrl-C in a terminal.
            start_new_session=True,
            preexec_fn=None if outlive_caller else terminate_with_parent,
        )
    paths.pidfile.write_text(f"{process.pid}\n")
    guest = RunningGuest(
        process=process,
        paths=paths,
        accel=assets.accel,
        boot_seconds=0.0,
        ready_line="",
        assets=assets,
    )
    try:
        guest.ready_line = wait_for_ready(process, paths, started, timeout)
    except BaseException:
        guest.stop()
        raise
    guest.boot_seconds = time.monotonic() - started
    log.info(
        "guest pid=%d ready in %.2f s (accel %s): %s",
        process.pid,
        guest.boot_seconds,
        assets.accel,
        guest.ready_line,
    )
    return guest


def terminate_with_parent() -> None:
    """Ask the kernel to send SIGTERM to this process when its parent exits."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(error)}")


def wait_for_ready(
    process: subprocess.Popen[bytes], paths: GuestPaths, started: float, timeout: float
) -> str:
    """Poll the console log until the ready line appears and return it.

    started is the time.monotonic() value when QEMU was started.
    """
    while True:
        match = READY_PATTERN.search(read_text(paths.console_log))
        if match is not None:
            return match.group(0).rstrip()
        if process.poll() is not None:
            raise QemuBackendError(
                f"QEMU pid={process.pid} exited with status {process.returncode} "
                f"before the guest was ready\n{describe_logs(paths)}"
            )
        if time.monotonic() > started + timeout:
            raise QemuBackendError(
                f"guest pid={process.pid} printed no {READY_LINE} line within "
                f"{timeout:.0f} s\n{describe_logs(paths)}"
            )
        time.sleep(0.02)


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def describe_logs(paths: GuestPaths, lines: int = 40) -> str:
    """Return the last lines of the console log and of QEMU's output."""
    sections = []
    for title, path in (("console", paths.console_log), ("QEMU", paths.qemu_log)):
        tail = read_text(path).splitlines()[-lines:]
        body = "\n".join(tail) if tail else "(empty)"
        sections.append(f"--- end of {title} log {path} ---\n{body}")
    return "\n".join(sections)


def remove_runtime_files(paths: GuestPaths) -> None:
    """Remove the pidfile, the socket and the env file, but keep the logs."""
    for path in (paths.pidfile, paths.command_socket, paths.env_file):
        path.unlink(missing_ok=True)


def stop_guest_by_pidfile(
    root: Path, timeout: float = STOP_TIMEOUT_SECONDS
) -> int | None:
    """Stop the QEMU whose PID is in the pidfile under root.

    Returns the PID that was stopped, or None when no QEMU of ours was running.
    A PID that now belongs to another program is left alone. Removes the pidfile
    and the socket in every case.
    """
    paths = guest_paths(root)
    pid = read_owned_pid(paths)
    if pid is not None:
        log.info("stopping QEMU pid=%d", pid)
        if not signal_and_wait(pid, signal.SIGTERM, timeout):
            log.warning("QEMU pid=%d ignored SIGTERM, sending SIGKILL", pid)
            if not signal_and_wait(pid, signal.SIGKILL, timeout):
                raise QemuBackendError(f"QEMU pid={pid} survived SIGKILL")
        wait_until_reaped(pid, REAP_TIMEOUT_SECONDS)
    remove_runtime_files(paths)
    return pid


def read_owned_pid(paths: GuestPaths) -> int | None:
    """Return the PID in the pidfile if that process is our QEMU and alive."""
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Our QEMU's command line names this guest's console log.
    if os.fsencode(paths.console_log) not in cmdline or is_zombie(pid):
        return None
    return pid


def signal_and_wait(pid: int, signum: signal.Signals, timeout: float) -> bool:
    """Send signum to pid and return whether it exited within timeout."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return True
    return wait_until_gone(pid, timeout)


def wait_until_gone(pid: int, timeout: float) -> bool:
    """Wait until pid has exited, reaping it when it is our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
            if reaped == pid:
                return True
        except ChildProcessError:
            # Not our child, so its parent (PID 1 after `start`) reaps it.
            if not Path(f"/proc/{pid}").exists() or is_zombie(pid):
                return True
        time.sleep(0.05)
    return False


def wait_until_reaped(pid: int, timeout: float) -> None:
    """Wait for the parent of an exited process to remove its /proc entry.

    QEMU started by the `start` command outlives that command, so PID 1 becomes
    its parent. Some init programs reap orphans only every second or so, and
    until then the exited QEMU shows in ps as <defunct>.
    """
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            log.warning("exited QEMU pid=%d is not reaped by its parent yet", pid)
            return
        time.sleep(0.05)


def is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the command name, which is in parentheses.
    return stat.rpartition(")")[2].split()[0] == "Z"


# Command channel


def run_command(
    socket_path: Path, command: str, timeout: float = COMMAND_TIMEOUT_SECONDS
) -> CommandResult:
    """Run one shell command in the guest and return its output and status.

    The command runs with sh -c, with stdin from /dev/null, and must fit on one
    line. Only one client can use the channel at a time.
    """
    if "\n" in command or "\r" in command:
        raise ValueError(f"command must be a single line: {command!r}")
    token = secrets.token_hex(8)
    end_pattern = re.compile(rf"{COMMAND_END} {token} (\d+)\n".encode())
    deadline = time.monotonic() + timeout
    received = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.settimeout(timeout)
        channel.connect(str(socket_path))
        channel.sendall(f"{token} {command}\n".encode())
        while (match := end_pattern.search(received)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QemuBackendError(
                    f"guest command {command!r} timed out after {timeout} s; "
                    f"output so far: {bytes(received)!r}"
                )
            channel.settimeout(remaining)
            try:
                chunk = channel.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise QemuBackendError(
                    f"command channel {socket_path} closed during {command!r}; "
                    f"output so far: {bytes(received)!r}"
                )
            received += chunk
    output = bytes(received[: match.start()]).decode(errors="replace")
    return CommandResult(output=output, exit_status=int(match.group(1)))


# Command-line interface


def resolve_root(argument: str | None) -> Path:
    if argument:
        return Path(argument)
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def command_prepare() -> int:
    started = time.monotonic()
    assets = prepare_assets()
    print(f"KERNEL={assets.kernel}")
    print(f"INITRD={assets.initrd}")
    print(f"QEMU={assets.qemu}")
    print(f"ACCEL={assets.accel}")
    print(f"KERNEL_VERSION={assets.kernel_version}")
    print(f"CACHED={'yes' if assets.cached else 'no'}")
    print(f"PREPARE_SECONDS={time.monotonic() - started:.2f}")
    return 0


def command_start(root: Path, timeout: float) -> int:
    paths = guest_paths(root)
    if read_owned_pid(paths) is not None and paths.env_file.is_file():
        log.info("a guest is already running under %s", paths.directory)
        print(paths.env_file.read_text(), end="")
        return 0
    stop_guest_by_pidfile(root)
    guest = start_guest(prepare_assets(), root, timeout, outlive_caller=True)
    lines = "".join(f"{key}={value}\n" for key, value in guest.as_env().items())
    paths.env_file.write_text(lines)
    print(lines, end="")
    return 0


def command_status(root: Path) -> int:
    paths = guest_paths(root)
    if read_owned_pid(paths) is None or not paths.env_file.is_file():
        log.info("no guest is running under %s", paths.directory)
        return STATUS_NOT_RUNNING
    print(paths.env_file.read_text(), end="")
    return 0


def command_stop(root: Path) -> int:
    pid = stop_guest_by_pidfile(root)
    if pid is None:
        log.info("no QEMU of ours is running under %s", root)
    else:
        log.info("QEMU pid=%d stopped", pid)
    return 0


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.backends.qemu",
        description="Manage the QEMU microVM backend of the tests.",
    )
    parser.add_argument("action", choices=("prepare", "start", "status", "stop"))
    parser.add_argument(
        "--root",
        help=f"directory for the pidfile, logs and socket; default ${ROOT_ENV} "
        f"or {DEFAULT_ROOT}",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=BOOT_TIMEOUT_SECONDS,
        help="seconds to wait for the guest's ready line (start only)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    arguments = parse_arguments(argv)
    root = resolve_root(arguments.root)
    try:
        if arguments.action == "prepare":
            return command_prepare()
        if arguments.action == "start":
            return command_start(root, arguments.timeout)
        if arguments.action == "status":
            return command_status(root)
        return command_stop(root)
    except QemuBackendError as error:
        log.error("%s failed: %s", arguments.action, error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
