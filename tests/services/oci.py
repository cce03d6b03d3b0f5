"""OCI image layouts built by hand, and pushed to a registry, for the image tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.services.process import (
    ServiceError,
    find_binary,
)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def _canonical_json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _put_blob(layout: Path, data: bytes, media_type: str) -> dict[str, Any]:
    """Stores `data` under blobs/sha256 and returns its OCI descriptor."""
    digest = hashlib.sha256(data).hexdigest()
    blob_dir = layout / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (blob_dir / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _layer(files: Mapping[str, bytes]) -> tuple[bytes, str]:
    """A reproducible gzip tar of `files`: same input, same digest. Returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    blob = gzip.compress(tar_bytes, mtime=0)
    return blob, f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"


def _put_image(layout: Path, files: Mapping[str, bytes], arch: str) -> dict[str, Any]:
    layer, diff_id = _layer(files)
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _put_blob(layout, _canonical_json(config), OCI_CONFIG),
        "layers": [_put_blob(layout, layer, OCI_LAYER)],
    }
    descriptor = _put_blob(layout, _canonical_json(manifest), OCI_MANIFEST)
    descriptor["platform"] = {"architecture": arch, "os": "linux"}
    return descriptor


def _write_layout(layout: Path, descriptor: dict[str, Any], tag: str) -> Path:
    """Tags `descriptor` in index.json; other tags already in the layout are kept."""
    (layout / "oci-layout").write_bytes(_canonical_json({"imageLayoutVersion": "1.0.0"}))
    index_path = layout / "index.json"
    entries = json.loads(index_path.read_text())["manifests"] if index_path.exists() else []
    entries = [e for e in entries if e.get("annotations", {}).get(REF_NAME) != tag]
    entries.append({**descriptor, "annotations": {REF_NAME: tag}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    index_path.write_bytes(_canonical_json(index))
    return layout


def build_oci_layout(
    directory: Path, files: Mapping[str, bytes], *, arch: str = "amd64", tag: str = "latest"
) -> Path:
    """A one-layer linux/<arch> image holding `files`, tagged `tag` in an OCI layout."""
    directory.mkdir(parents=True, exist_ok=True)
    return _write_layout(directory, _put_image(directory, files, arch), tag)


def build_oci_index_layout(
    directory: Path,
    files: Mapping[str, bytes],
    *,
    arches: Sequence[str] = ("amd64", "arm64"),
    tag: str = "latest",
) -> Path:
    """A multi-arch image index (linux/amd64 + linux/arm64 by default), tagged `tag`."""
    directory.mkdir(parents=True, exist_ok=True)
    manifests = [_put_image(directory, files, arch) for arch in arches]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return _write_layout(directory, _put_blob(directory, _canonical_json(index), OCI_INDEX), tag)


def layout_digest(layout_dir: Path, tag: str = "latest") -> str:
    """Digest of the manifest or index tagged `tag`: what a registry must report after a push."""
    index = json.loads((layout_dir / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get(REF_NAME) == tag:
            return str(entry["digest"])
    raise KeyError(f"no {tag!r} in {layout_dir}/index.json")


def _tagged_media_type(layout_dir: Path, tag: str) -> str:
    digest = layout_digest(layout_dir, tag).removeprefix("sha256:")
    blob = json.loads((layout_dir / "blobs" / "sha256" / digest).read_text())
    return str(blob.get("mediaType", OCI_MANIFEST))


def push(layout_dir: Path, reference: str, *, layout_tag: str = "latest") -> None:
    """`skopeo copy` the image tagged `layout_tag` to docker://`reference` over plain HTTP.

    An index is copied with --all so every platform manifest lands in the registry, and
    --preserve-digests makes skopeo fail rather than silently re-encode what we built.
    """
    argv = [
        find_binary("skopeo"),
        "--insecure-policy",  # local test images; do not depend on /etc/containers/policy.json
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        "--quiet",
    ]
    if _tagged_media_type(layout_dir, layout_tag) == OCI_INDEX:
        argv.append("--all")
    argv += [f"oci:{layout_dir}:{layout_tag}", f"docker://{reference}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed:\n{result.stderr.strip()}")
