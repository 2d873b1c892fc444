"""Remove the cgroups that a container engine created for its containers."""

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

CGROUP_MOUNT = Path("/sys/fs/cgroup")


def cgroup_hierarchies() -> list[Path]:
    """Return the mounted cgroup hierarchies, v1 controllers and v2 alike."""
    if (CGROUP_MOUNT / "cgroup.procs").exists():
        return [CGROUP_MOUNT]
    return sorted(
        path
        for path in CGROUP_MOUNT.iterdir()
        if path.is_dir() and (path / "cgroup.procs").exists()
    )


def remove_cgroup(name: str) -> None:
    """Remove the cgroup ``name`` and its children from every hierarchy.

    A cgroup that still contains processes cannot be removed; that failure is
    logged and the cgroup stays.
    """
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / name
        if not top.is_dir():
            continue
        for directory, _, _ in sorted(
            os.walk(top), key=lambda entry: entry[0].count("/"), reverse=True
        ):
            try:
                os.rmdir(directory)
            except OSError as error:
                logger.warning("removing cgroup %s failed: %s", directory, error)
