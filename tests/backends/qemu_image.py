"""Build the boot files of the QEMU microVM test guest: kernel and initramfs.

The kernel is the vmlinuz of Debian's cloud kernel package, downloaded with
apt-get and never installed on the host. The initramfs contains the host's
static busybox and INIT_SCRIPT, packed by this module without the cpio tool.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX = Path("/bin/busybox")
# ELF program header type of the segment that names the dynamic loader.
PT_INTERP = 3

READY_LINE = "OPENSHELL-GUEST-READY"
COMMAND_END = "OPENSHELL-COMMAND-END"
GUEST_ERROR_LINE = "OPENSHELL-GUEST-ERROR"

INIT_SCRIPT = f"""#!/bin/busybox sh
# PID 1 of the test guest. It prints the ready line on the console, then reads
# requests of the form "TOKEN COMMAND" from ttyS1, runs COMMAND with sh and
# writes its output followed by "{COMMAND_END} TOKEN STATUS".
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
if ! stty -F /dev/ttyS1 raw -echo; then
    echo "{GUEST_ERROR_LINE}: command port /dev/ttyS1 is unusable, powering off"
    poweroff -f
fi
exec 3<>/dev/ttyS1
echo "{READY_LINE} kernel=$(uname -r)"
while IFS= read -r request <&3; do
    token=${{request%% *}}
    command=${{request#* }}
    sh -c "$command" </dev/null >&3 2>&1
    echo "{COMMAND_END} $token $?" >&3
done
echo "command port closed, powering off"
poweroff -f
"""


class QemuBackendError(RuntimeError):
    """Failure to prepare, start, use or stop the microVM test backend."""


def resolve_kernel_package() -> tuple[str, str]:
    """Return the name and candidate version of the kernel image package.

    linux-image-cloud-amd64 is a metapackage, so this follows its Depends field
    to the versioned image package, for example linux-image-6.1.0-57-cloud-amd64.
    Debian's metapackage pins that version in Depends, which saves a second
    apt-cache call (about 0.9 s when apt keeps no package cache file).
    """
    depends = apt_cache_fields(KERNEL_META_PACKAGE).get("Depends", "")
    match = re.search(r"(linux-image-[\w.+-]+)(?: \(= ([^)]+)\))?", depends)
    if match is None:
        raise QemuBackendError(
            f"{KERNEL_META_PACKAGE} has no linux-image dependency: Depends={depends!r}"
        )
    package, version = match.group(1), match.group(2)
    if version is None:
        version = apt_cache_fields(package).get("Version")
    if not version:
        raise QemuBackendError(f"apt-cache shows no version for {package}")
    return package, version


def apt_cache_fields(package: str) -> dict[str, str]:
    """Return the control fields of the candidate version of a Debian package."""
    result = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", package],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise QemuBackendError(
            f"apt-cache show {package} failed (exit {result.returncode}): "
            f"{result.stderr.strip()}; run apt-get update and try again"
        )
    fields: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, separator, value = line.partition(": ")
        if separator and not line.startswith(" "):
            fields[key] = value
    return fields


def fetch_kernel(package: str, version: str, destination: Path) -> None:
    """Download the kernel package with apt-get and copy out its vmlinuz.

    Nothing is installed on the host. The file appears in the cache only once
    it is complete.
    """
    log.info("downloading guest kernel %s %s", package, version)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kernel-", dir=destination.parent) as tmp:
        download = subprocess.run(
            ["apt-get", "download", f"{package}={version}"],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        debs = list(Path(tmp).glob("*.deb"))
        if download.returncode != 0 or len(debs) != 1:
            raise QemuBackendError(
                f"apt-get download {package}={version} failed "
                f"(exit {download.returncode}): {download.stderr.strip()}"
            )
        partial = Path(tmp) / "vmlinuz"
        extract_vmlinuz(debs[0], partial)
        os.replace(partial, destination)
    log.info("guest kernel stored at %s", destination)


def extract_vmlinuz(deb: Path, destination: Path) -> None:
    """Copy ./boot/vmlinuz-* out of a kernel .deb without writing the rest."""
    with subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", str(deb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as unpack:
        assert unpack.stdout is not None
        assert unpack.stderr is not None
        found = copy_vmlinuz(unpack.stdout, destination)
        # Drain the stream instead of killing dpkg-deb, because its decompressor
        # child would keep the pipes open and block the read of stderr.
        while unpack.stdout.read(1 << 20):
            pass
        stderr = unpack.stderr.read().decode(errors="replace")
    if unpack.returncode != 0:
        raise QemuBackendError(
            f"dpkg-deb --fsys-tarfile {deb} failed (exit {unpack.returncode}): "
            f"{stderr.strip()}"
        )
    if not found:
        raise QemuBackendError(f"{deb} contains no ./boot/vmlinuz-*")


def copy_vmlinuz(tar_stream: IO[bytes], destination: Path) -> bool:
    """Copy the first ./boot/vmlinuz-* of a tar stream and return whether found."""
    with tarfile.open(fileobj=tar_stream, mode="r|") as archive:
        for member in archive:
            if member.isfile() and member.name.startswith("./boot/vmlinuz-"):
                source = archive.extractfile(member)
                assert source is not None
                with destination.open("wb") as target:
                    shutil.copyfileobj(source, target)
                return True
    return False


def initramfs_digest() -> str:
    """Return a short hash of everything that goes into the initramfs."""
    digest = hashlib.sha256(INIT_SCRIPT.encode())
    digest.update(read_busybox())
    return digest.hexdigest()[:16]


def read_busybox() -> bytes:
    """Return the host's busybox binary, which must be statically linked."""
    if not BUSYBOX.is_file():
        raise QemuBackendError(
            f"{BUSYBOX} not found; install the Debian package busybox-static"
        )
    binary = BUSYBOX.read_bytes()
    if has_program_interpreter(binary):
        raise QemuBackendError(
            f"{BUSYBOX} is dynamically linked and cannot run in the initramfs; "
            "install the Debian package busybox-static"
        )
    return binary


def has_program_interpreter(elf: bytes) -> bool:
    """Return whether a 64-bit little-endian ELF file names a dynamic loader."""
    if elf[:6] != b"\x7fELF\x02\x01":
        raise QemuBackendError(f"{BUSYBOX} is not a 64-bit little-endian ELF file")
    (program_header_offset,) = struct.unpack_from("<Q", elf, 0x20)
    entry_size, entry_count = struct.unpack_from("<HH", elf, 0x36)
    for index in range(entry_count):
        (segment_type,) = struct.unpack_from(
            "<I", elf, program_header_offset + index * entry_size
        )
        if segment_type == PT_INTERP:
            return True
    return False


def build_initramfs(destination: Path) -> None:
    """Write a gzip-compressed newc cpio archive with busybox and INIT_SCRIPT."""
    entries: list[CpioEntry] = [
        CpioEntry(name, DIRECTORY_MODE)
        for name in ("bin", "dev", "proc", "sys", "tmp", "sbin", "usr")
    ]
    entries += [
        CpioEntry("usr/bin", DIRECTORY_MODE),
        CpioEntry("usr/sbin", DIRECTORY_MODE),
        # The kernel opens /dev/console for init before devtmpfs is mounted.
        CpioEntry("dev/console", CHARACTER_DEVICE_MODE, rdev=(5, 1)),
        CpioEntry("bin/busybox", EXECUTABLE_MODE, read_busybox()),
        CpioEntry("init", EXECUTABLE_MODE, INIT_SCRIPT.encode()),
    ]
    archive = pack_newc(entries)
    partial = destination.with_name(destination.name + f".{os.getpid()}.partial")
    # mtime=0 keeps the output identical for identical input.
    with gzip.GzipFile(partial, "wb", mtime=0) as compressed:
        compressed.write(archive)
    os.replace(partial, destination)
    log.info(
        "initramfs built at %s (%d bytes)", destination, destination.stat().st_size
    )


DIRECTORY_MODE = 0o040755
EXECUTABLE_MODE = 0o100755
CHARACTER_DEVICE_MODE = 0o020600


@dataclass(frozen=True)
class CpioEntry:
    """One file, directory or device node of a cpio archive."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def pack_newc(entries: Iterable[CpioEntry]) -> bytes:
    """Pack entries in the SVR4 "newc" cpio format that the kernel unpacks.

    Each record is the magic "070701", thirteen 8-digit hexadecimal header
    fields, the NUL-terminated name and the data, where name and data are
    padded to 4 bytes. Every entry is owned by root with mtime 0.
    """
    output = io.BytesIO()
    for inode, entry in enumerate(entries, start=1):
        write_newc_record(output, inode, entry)
    write_newc_record(output, 0, CpioEntry("TRAILER!!!", 0))
    return output.getvalue()


def write_newc_record(output: io.BytesIO, inode: int, entry: CpioEntry) -> None:
    name = entry.name.encode() + b"\0"
    fields = (
        inode,
        entry.mode,
        0,  # uid
        0,  # gid
        2 if entry.mode == DIRECTORY_MODE else 1,  # nlink
        0,  # mtime
        len(entry.data),
        0,  # devmajor
        0,  # devminor
        entry.rdev[0],
        entry.rdev[1],
        len(name),
        0,  # check, unused in newc
    )
    output.write(b"070701" + b"".join(b"%08x" % field for field in fields))
    output.write(name)
    pad_to_four(output)
    output.write(entry.data)
    pad_to_four(output)


def pad_to_four(output: io.BytesIO) -> None:
    output.write(b"\0" * (-output.tell() % 4))
