"""Find, start and stop the processes of a backend.

PID 1 on the test machines may reap orphans late, so a zombie counts as exited.
"""

import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.02


def is_running(pid: int) -> bool:
    """Return whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state letter follows the command name, which is in parentheses and may
    # itself contain spaces or parentheses.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    """Return the arguments of ``pid``, or an empty list if it has exited."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [os.fsdecode(arg) for arg in raw.split(b"\0") if arg]


def mentions_path(args: Sequence[str], directory: Path) -> bool:
    """Return whether any argument names ``directory`` or a path inside it.

    The directory must start a path, so ``/tmp/a`` does not match ``/tmp/ab`` or
    ``/x/tmp/a``. Forms such as ``--root=/tmp/a/x`` and ``unix:///tmp/a/s`` match.
    """
    pattern = re.compile(r"(?:^|[=:/,])" + re.escape(str(directory)) + r"(?:/|$)")
    return any(pattern.search(arg) for arg in args)


def read_pidfile(path: Path) -> int | None:
    """Return the PID on the first line of ``path``, or None if there is none."""
    try:
        first_line = path.read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return None
    return int(first_line) if first_line.isdigit() else None


def running_pid(pidfile: Path, directory: Path) -> int | None:
    """Return the PID from ``pidfile`` if that process runs and belongs to us.

    A process belongs to the backend if its arguments name ``directory``, which
    guards against a reused PID.
    """
    pid = read_pidfile(pidfile)
    if pid is None or not is_running(pid):
        return None
    if not mentions_path(cmdline(pid), directory):
        return None
    return pid


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def processes_using(directory: Path) -> set[int]:
    """Return the live processes whose arguments name ``directory``, with descendants.

    Container monitors (conmon, containerd-shim) reparent to PID 1, so a backend's
    processes are found by the state directory in their arguments, not by ancestry.
    """
    own = {os.getpid(), *_ancestors(os.getpid())}
    roots = {
        pid
        for pid in all_pids()
        if pid not in own and is_running(pid) and mentions_path(cmdline(pid), directory)
    }
    return {pid for pid in roots | descendants(roots) if is_running(pid)}


def processes_in_groups(groups: Iterable[int]) -> set[int]:
    """Return the live processes whose process group is one of ``groups``."""
    target_groups = set(groups)
    return {
        pid
        for pid in all_pids()
        if process_group(pid) in target_groups
        and is_running(pid)
        and pid != os.getpid()
    }


def descendants(pids: Iterable[int]) -> set[int]:
    """Return all live descendants of ``pids``, not including ``pids``."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        parent = parent_pid(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = list(pids)
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _ancestors(pid: int) -> set[int]:
    found: set[int] = set()
    current = parent_pid(pid)
    while current and current not in found:
        found.add(current)
        current = parent_pid(current)
    return found


def wait_for_exit(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to exit; return those still running."""
    remaining = {pid for pid in pids if is_running(pid)}
    deadline = time.monotonic() + timeout
    while remaining and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        remaining = {pid for pid in remaining if is_running(pid)}
    return remaining


def send_signal(pids: Iterable[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def terminate(
    pids: Iterable[int], signum: signal.Signals = signal.SIGTERM, grace: float = 10.0
) -> None:
    """Send ``signum`` to ``pids``, then SIGKILL to those still running after ``grace``.

    Raises RuntimeError if a process survives SIGKILL for 5 seconds, which happens
    when it hangs in the kernel (state D).
    """
    targets = {pid for pid in pids if is_running(pid)}
    if not targets:
        return
    send_signal(targets, signum)
    remaining = wait_for_exit(targets, grace)
    if not remaining:
        return
    logger.warning(
        "processes %s ignored %s for %.0f s, sending SIGKILL",
        sorted(remaining),
        signum.name,
        grace,
    )
    send_signal(remaining, signal.SIGKILL)
    remaining = wait_for_exit(remaining, 5.0)
    if remaining:
        raise RuntimeError(f"processes {sorted(remaining)} survived SIGKILL")


def spawn_daemon(
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start ``argv`` in a new session with output to ``log_path``; return its PID.

    The new session keeps the daemon alive after the calling command exits and
    puts it in a process group of its own, whose ID equals the returned PID.
    """
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        process = subprocess.Popen(
            argv,
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    # The daemon outlives this command. Marking the Popen object as finished keeps
    # its finalizer from warning that the child still runs.
    process.returncode = 0
    return process.pid
