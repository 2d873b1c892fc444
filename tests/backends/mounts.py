"""Find and remove mounts that a backend left under its state directory."""

import logging
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes.
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n")):
        field = field.replace(escaped, plain)
    return field.replace("\\134", "\\")


def mounts_under(directory: Path) -> list[Path]:
    """Return the mount points at or below ``directory``, deepest first.

    Only the mount namespace of the calling process is searched.
    """
    found: list[Path] = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            mount_point = Path(_unescape(line.split()[4]))
            if mount_point == directory or directory in mount_point.parents:
                found.append(mount_point)
    return sorted(set(found), key=lambda path: len(path.parts), reverse=True)


def unmount_all(directory: Path) -> None:
    """Unmount everything at or below ``directory``.

    A busy mount is detached lazily (``umount -l``) and logged. Raises
    RuntimeError if a mount is still there afterwards.
    """
    for mount_point in mounts_under(directory):
        result = subprocess.run(
            ["umount", str(mount_point)], capture_output=True, text=True
        )
        if result.returncode == 0:
            logger.info("unmounted %s", mount_point)
            continue
        logger.warning(
            "umount %s failed (%s), detaching it lazily",
            mount_point,
            result.stderr.strip(),
        )
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
    remaining = mounts_under(directory)
    if remaining:
        raise RuntimeError(f"mounts still present: {', '.join(map(str, remaining))}")
