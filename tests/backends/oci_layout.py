"""Write a single-layer image as an OCI image layout directory and archive.

The format follows the OCI Image Format Specification 1.0: ``oci-layout``,
``index.json`` and content-addressed files under ``blobs/sha256``. The layer is
stored uncompressed (media type ``application/vnd.oci.image.layer.v1.tar``), so
its digest equals its diff ID.
"""

import hashlib
import json
import platform
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.backends.rootfs import FILE_TIME

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

# Go's GOARCH names, which OCI uses, for Python's platform.machine() values.
_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: media type, digest and size of a blob."""

    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def oci_architecture() -> str:
    machine = platform.machine()
    return _ARCHITECTURES.get(machine, machine)


def _canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _write_blob(layout: Path, data: bytes, media_type: str) -> Descriptor:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return Descriptor(media_type, f"sha256:{digest}", len(data))


def image_config(layer_digest: str, command: list[str]) -> dict[str, Any]:
    return {
        "architecture": oci_architecture(),
        "os": "linux",
        "config": {"Cmd": command, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "busybox-static root file system"}],
    }


def write_layout(
    layout: Path, layer_tar: Path, ref_name: str, command: list[str]
) -> Descriptor:
    """Write an OCI image layout with ``layer_tar`` as its only layer.

    ``layout`` must not exist yet. ``ref_name`` becomes the manifest's
    ``org.opencontainers.image.ref.name`` annotation. Returns the descriptor of
    the manifest.
    """
    (layout / "blobs" / "sha256").mkdir(parents=True)
    layer = _write_blob(layout, layer_tar.read_bytes(), LAYER_MEDIA_TYPE)
    config = _write_blob(
        layout, _canonical_json(image_config(layer.digest, command)), CONFIG_MEDIA_TYPE
    )
    manifest_document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config.to_json(),
        "layers": [layer.to_json()],
    }
    manifest = _write_blob(
        layout, _canonical_json(manifest_document), MANIFEST_MEDIA_TYPE
    )
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [
            {
                **manifest.to_json(),
                "annotations": {REF_NAME_ANNOTATION: ref_name},
                "platform": {"architecture": oci_architecture(), "os": "linux"},
            }
        ],
    }
    (layout / "index.json").write_bytes(_canonical_json(index))
    (layout / "oci-layout").write_bytes(
        _canonical_json({"imageLayoutVersion": "1.0.0"})
    )
    return manifest


def write_archive(layout: Path, archive: Path) -> None:
    """Pack the layout directory into a tar archive, with the layout at its top."""
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(layout.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(layout)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = FILE_TIME
            if info.isfile():
                with open(path, "rb") as content:
                    tar.addfile(info, content)
            else:
                tar.addfile(info)
