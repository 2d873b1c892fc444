"""Build a root file system from busybox-static as a reproducible tar archive.

The archive contains /bin/busybox, a symlink in /bin for every applet, the usual
empty top-level directories and an /etc/passwd with root and nobody. Entries are
sorted and carry fixed owners and timestamps, so the same busybox binary always
gives the same bytes and therefore the same layer digest.
"""

import io
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")

# 2000-01-01T00:00:00Z, so that tools never see a file time of zero.
FILE_TIME = 946684800

EMPTY_DIRS = ("dev", "proc", "root", "sys", "tmp", "var", "var/tmp")
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
GROUP = "root:x:0:\nnobody:x:65534:\n"


def busybox_applets(busybox: Path = BUSYBOX) -> list[str]:
    """Return the applet names that ``busybox --list`` reports."""
    output = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout
    return sorted({name for name in output.split() if name != "busybox"})


def _entry(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = FILE_TIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _add_file(archive: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = _entry(name, tarfile.REGTYPE, mode)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_rootfs_tar(destination: Path, busybox: Path = BUSYBOX) -> None:
    """Write the root file system built from ``busybox`` to ``destination``."""
    directories = sorted({"bin", "etc", *EMPTY_DIRS})
    with tarfile.open(destination, "w", format=tarfile.PAX_FORMAT) as archive:
        for directory in directories:
            mode = 0o1777 if directory in ("tmp", "var/tmp") else 0o755
            archive.addfile(_entry(directory, tarfile.DIRTYPE, mode))
        _add_file(archive, "bin/busybox", busybox.read_bytes(), 0o755)
        for applet in busybox_applets(busybox):
            link = _entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777)
            link.linkname = "busybox"
            archive.addfile(link)
        _add_file(archive, "etc/passwd", PASSWD.encode(), 0o644)
        _add_file(archive, "etc/group", GROUP.encode(), 0o644)
