"""Sandbox image: reproducible root file system and a valid OCI layout and archive."""

import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.backends.fixtures import ContainerEngine
from tests.backends.images import SandboxImage, build_sandbox_image
from tests.backends.oci_layout import (
    CONFIG_MEDIA_TYPE,
    LAYER_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    REF_NAME_ANNOTATION,
)
from tests.backends.unix_http import request, request_json

pytestmark = pytest.mark.slow


def read_blob(layout: Path, digest: str) -> bytes:
    algorithm, hex_digest = digest.split(":")
    data = (layout / "blobs" / algorithm / hex_digest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hex_digest, f"blob {digest} is corrupt"
    return data


def read_json_blob(layout: Path, descriptor: dict[str, Any]) -> Any:
    data = read_blob(layout, descriptor["digest"])
    assert len(data) == descriptor["size"]
    return json.loads(data)


def test_rootfs_contains_busybox_and_shell(sandbox_oci_image: SandboxImage) -> None:
    with tarfile.open(sandbox_oci_image.rootfs_tar) as archive:
        members = {member.name: member for member in archive.getmembers()}
    assert members["bin/busybox"].isfile()
    assert members["bin/busybox"].mode == 0o755
    for applet in ("sh", "sleep", "echo", "cat"):
        assert members[f"bin/{applet}"].issym()
        assert members[f"bin/{applet}"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777
    assert members["etc/passwd"].isfile()


def test_rebuild_is_byte_identical(
    sandbox_oci_image: SandboxImage, tmp_path: Path
) -> None:
    rebuilt = build_sandbox_image(cache=tmp_path)
    assert rebuilt.rootfs_tar.read_bytes() == sandbox_oci_image.rootfs_tar.read_bytes()
    assert (rebuilt.oci_layout / "index.json").read_bytes() == (
        sandbox_oci_image.oci_layout / "index.json"
    ).read_bytes()


def test_cached_build_is_reused(sandbox_oci_image: SandboxImage) -> None:
    modified = sandbox_oci_image.rootfs_tar.stat().st_mtime_ns
    again = build_sandbox_image()
    assert again == sandbox_oci_image
    assert again.rootfs_tar.stat().st_mtime_ns == modified


def test_oci_layout_is_consistent(sandbox_oci_image: SandboxImage) -> None:
    layout = sandbox_oci_image.oci_layout
    assert json.loads((layout / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }
    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    [entry] = index["manifests"]
    assert entry["mediaType"] == MANIFEST_MEDIA_TYPE
    assert entry["annotations"][REF_NAME_ANNOTATION] == "latest"

    manifest = read_json_blob(layout, entry)
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    [layer] = manifest["layers"]
    assert layer["mediaType"] == LAYER_MEDIA_TYPE
    layer_data = read_blob(layout, layer["digest"])
    assert len(layer_data) == layer["size"]
    assert layer_data == sandbox_oci_image.rootfs_tar.read_bytes()

    config = read_json_blob(layout, manifest["config"])
    assert config["os"] == "linux"
    assert config["config"]["Cmd"] == ["/bin/sh"]
    assert config["rootfs"]["diff_ids"] == [layer["digest"]]


def test_oci_archive_holds_the_layout(sandbox_oci_image: SandboxImage) -> None:
    layout = sandbox_oci_image.oci_layout
    expected = {
        str(path.relative_to(layout)) for path in layout.rglob("*") if path.is_file()
    }
    with tarfile.open(sandbox_oci_image.oci_archive) as archive:
        archived = {member.name for member in archive.getmembers() if member.isfile()}
        index = archive.extractfile("index.json")
        assert index is not None
        assert index.read() == (layout / "index.json").read_bytes()
    assert archived == expected


def test_podman_loads_oci_archive(
    podman_service: ContainerEngine, sandbox_oci_image: SandboxImage
) -> None:
    """Podman, a real OCI consumer, loads the archive with the expected config."""
    manifest_digest = json.loads(
        (sandbox_oci_image.oci_layout / "index.json").read_text()
    )["manifests"][0]["digest"]
    manifest = json.loads(read_blob(sandbox_oci_image.oci_layout, manifest_digest))
    image_id = manifest["config"]["digest"].removeprefix("sha256:")

    status, body = request(
        podman_service.socket,
        "POST",
        "/v4.0.0/libpod/images/load",
        body=sandbox_oci_image.oci_archive.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert status == 200, f"load returned HTTP {status}: {body!r}"
    try:
        status, image = request_json(
            podman_service.socket, "GET", f"/v4.0.0/libpod/images/{image_id}/json"
        )
        assert status == 200, f"loaded image {image_id} not found: {image}"
        assert image["Config"]["Cmd"] == ["/bin/sh"]
        assert image["Os"] == "linux"
    finally:
        request_json(
            podman_service.socket, "DELETE", f"/v4.0.0/libpod/images/{image_id}"
        )
