"""Remove what a stopped or crashed backend left behind under its directory."""

import logging
import signal
from pathlib import Path

from tests.backends.mounts import unmount_all
from tests.backends.paths import BackendError, tail
from tests.backends.processes import is_running, processes_using, terminate

logger = logging.getLogger(__name__)


def remove_leftovers(directory: Path) -> None:
    """Stop the processes that name ``directory`` and unmount what is under it.

    Examples are container monitors left by a killed daemon and Podman's exec
    monitors, which otherwise outlive the service by up to 300 s.
    """
    leftovers = processes_using(directory)
    if leftovers:
        logger.info("stopping leftover processes %s", sorted(leftovers))
        terminate(leftovers, signal.SIGTERM, grace=5.0)
    unmount_all(directory)


def startup_error(
    program: str, pid: int, socket: Path, log: Path, directory: Path
) -> BackendError:
    """Stop a daemon that failed to start and return the error to raise.

    The message states whether the daemon exited or timed out, followed by its log.
    """
    if is_running(pid):
        reason = f"did not respond on {socket} within the start timeout"
    else:
        reason = "exited before it responded"
    terminate({pid}, grace=5.0)
    remove_leftovers(directory)
    return BackendError(f"{program} {reason}. End of {log}:\n{tail(log)}")


def remove_files(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
