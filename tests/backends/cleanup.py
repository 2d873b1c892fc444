"""Remove what a stopped or crashed backend left behind under its directory."""

import logging
import signal
from pathlib import Path

from tests.backends.mounts import unmount_all
from tests.backends.processes import processes_using, terminate

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


def remove_files(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
