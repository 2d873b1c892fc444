"""The sandbox image of the tests, made from busybox-static without any registry.

Usage: ``python -m tests.backends.images [oci|docker|podman]``.

``build_sandbox_image`` builds the root file system once per busybox binary and
keeps it, with an OCI image layout and an OCI archive made from it, in
``~/.cache/openshell-test-backends/sandbox-image`` (or $OPENSHELL_TEST_CACHE). The import
functions load the same root file system into a running Docker Engine or Podman
service.
"""

import argparse
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import docker

from tests.backends.cli import format_settings
from tests.backends.oci_layout import write_archive, write_layout
from tests.backends.paths import BackendError
from tests.backends.rootfs import BUSYBOX, write_rootfs_tar
from tests.backends.unix_http import request

logger = logging.getLogger(__name__)

CACHE_ENV = "OPENSHELL_TEST_CACHE"
REPOSITORY = "openshell-test/busybox"
TAG = "latest"
REFERENCE = f"{REPOSITORY}:{TAG}"
# Podman puts names without a registry host under "localhost/".
PODMAN_REFERENCE = f"localhost/{REFERENCE}"
COMMAND = ["/bin/sh"]
# Part of the cache key: raise it when the content or layout of the image changes.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SandboxImage:
    """Files of the sandbox image, all inside one cache directory."""

    rootfs_tar: Path
    oci_layout: Path
    oci_archive: Path
    reference: str


def cache_root() -> Path:
    """Return $OPENSHELL_TEST_CACHE, or ~/.cache/openshell-test-backends/sandbox-image."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    xdg_cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg_cache) / "openshell-test-backends" / "sandbox-image"


def image_files(directory: Path) -> SandboxImage:
    return SandboxImage(
        rootfs_tar=directory / "rootfs.tar",
        oci_layout=directory / "oci-layout",
        oci_archive=directory / "oci-archive.tar",
        reference=REFERENCE,
    )


def cache_key(busybox: Path) -> str:
    digest = hashlib.sha256(busybox.read_bytes()).hexdigest()[:16]
    return f"busybox-{digest}-v{FORMAT_VERSION}"


def build_sandbox_image(
    cache: Path | None = None, busybox: Path = BUSYBOX
) -> SandboxImage:
    """Return the sandbox image files, building them unless the cache has them.

    The files are built in a temporary directory and renamed into place, so a
    concurrent or interrupted build never leaves a half-written cache entry.
    """
    if not busybox.exists():
        raise BackendError(
            f"{busybox} not found: install busybox-static (scripts/install-system-deps)"
        )
    parent = cache if cache is not None else cache_root()
    directory = parent / cache_key(busybox)
    if directory.is_dir():
        return image_files(directory)
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=parent))
    staging.chmod(0o755)
    try:
        files = image_files(staging)
        write_rootfs_tar(files.rootfs_tar, busybox)
        write_layout(files.oci_layout, files.rootfs_tar, TAG, COMMAND)
        write_archive(files.oci_layout, files.oci_archive)
        staging.rename(directory)
        logger.info("built sandbox image in %s", directory)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if not directory.is_dir():
            raise
        # Another process renamed its build into place first.
        logger.info("using the concurrent build in %s (%s)", directory, error)
    return image_files(directory)


def import_into_docker(base_url: str, image: SandboxImage) -> str:
    """Load the root file system into the Docker Engine at ``base_url``.

    Does what ``docker import --change 'CMD ["/bin/sh"]'`` does, through the
    Engine API. Returns the image reference.
    """
    client = docker.DockerClient(base_url=base_url)
    try:
        client.api.import_image_from_data(
            image.rootfs_tar.read_bytes(),
            repository=REPOSITORY,
            tag=TAG,
            changes=[f"CMD {_json_list(COMMAND)}"],
        )
    finally:
        client.close()
    return REFERENCE


def import_into_podman(socket: Path, image: SandboxImage) -> str:
    """Load the root file system into the Podman service listening on ``socket``.

    Does what ``podman import --change 'CMD=["/bin/sh"]'`` does, through the
    libpod API. Returns the image reference as Podman names it.
    """
    change = quote(f"CMD={_json_list(COMMAND)}", safe="")
    status, body = request(
        socket,
        "POST",
        f"/v4.0.0/libpod/images/import?reference={quote(REFERENCE)}&changes={change}",
        body=image.rootfs_tar.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
        timeout=120.0,
    )
    if status != 200:
        raise BackendError(f"podman image import failed with HTTP {status}: {body!r}")
    return PODMAN_REFERENCE


def _json_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def main(argv: Sequence[str] | None = None) -> int:
    """Build the image, import it if requested, and print KEY=VALUE lines.

    The import target comes from DOCKER_HOST or CONTAINER_HOST.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.backends.images")
    parser.add_argument(
        "target",
        nargs="?",
        default="oci",
        choices=("oci", "docker", "podman"),
        help="oci: only build; docker: import into $DOCKER_HOST; "
        "podman: import into $CONTAINER_HOST (unix:// URLs only)",
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="images: %(message)s")
    image = build_sandbox_image()
    settings = {
        "SANDBOX_ROOTFS_TAR": str(image.rootfs_tar),
        "SANDBOX_OCI_LAYOUT": str(image.oci_layout),
        "SANDBOX_OCI_ARCHIVE": str(image.oci_archive),
    }
    try:
        if arguments.target == "docker":
            settings["DOCKER_IMAGE"] = import_into_docker(
                _required_env("DOCKER_HOST"), image
            )
        elif arguments.target == "podman":
            url = _required_env("CONTAINER_HOST")
            settings["PODMAN_IMAGE"] = import_into_podman(
                Path(url.removeprefix("unix://")), image
            )
    except (BackendError, docker.errors.DockerException, OSError) as error:
        logger.error("import into %s failed: %s", arguments.target, error)
        return 1
    sys.stdout.write(format_settings(settings))
    return 0


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise BackendError(
            f"{name} is not set: start the backend and export its settings first"
        )
    return value


if __name__ == "__main__":
    sys.exit(main())
