"""Unpacking with umoci honours OCI whiteouts, and a layer that cannot be read stops the run
with its digest named. Layers are written straight into the cache's OCI layout here (as
``ImageCache.pull`` leaves them), so no registry is needed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from lineage.errors import BadInputError
from lineage.images.client import RegistryClient
from lineage.images.reference import parse_reference
from lineage.sandbox.cache import REF_NAME, CachedImage, ImageCache, tag_of
from lineage.sandbox.unpack import rootfs_of
from tests.conftest import unavailable


def _blob(cache: ImageCache, data: bytes) -> str:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    path = cache.blob_path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _layer(entries: dict[str, bytes | None]) -> tuple[bytes, str]:
    """A gzip tar; a None value is a directory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), 0o644
                tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0), hashlib.sha256(raw.getvalue()).hexdigest()


def _image(cache: ImageCache, layers: list[bytes], diff_ids: list[str]) -> CachedImage:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
    }
    config_digest = _blob(cache, json.dumps(config).encode())
    layer_digests = [_blob(cache, layer) for layer in layers]
    media = "application/vnd.oci.image.layer.v1.tar+gzip"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": cache.blob_path(config_digest).stat().st_size,
        },
        "layers": [
            {"mediaType": media, "digest": d, "size": len(b)}
            for d, b in zip(layer_digests, layers, strict=True)
        ],
    }
    body = json.dumps(manifest).encode()
    digest = _blob(cache, body)
    descriptor = {"mediaType": manifest["mediaType"], "digest": digest, "size": len(body)}
    descriptor["annotations"] = {REF_NAME: tag_of(digest)}
    (cache.layout / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "manifests": [descriptor]})
    )
    (cache.layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    ref = parse_reference(f"localhost:1/test@{digest}")
    return CachedImage(ref, digest, tuple(layer_digests), (), "/")


@pytest.fixture
def cache(tmp_path: Path) -> ImageCache:
    if shutil.which("umoci") is None:
        unavailable("umoci", "umoci is not installed (scripts/install-services installs it)")
    return ImageCache(tmp_path / "cache", RegistryClient())


def test_whiteouts_remove_what_lower_layers_put_there(cache: ImageCache) -> None:
    lower, lower_id = _layer({"a": None, "a/keep": b"k", "a/gone": b"g", "b": None, "b/old": b"o"})
    upper, upper_id = _layer({"a/.wh.gone": b"", "b": None, "b/.wh..wh..opq": b"", "b/new": b"n"})
    image = _image(cache, [lower, upper], [lower_id, upper_id])
    rootfs = rootfs_of(cache, image)
    assert (rootfs / "a/keep").read_bytes() == b"k"
    assert not (rootfs / "a/gone").exists()
    assert sorted(p.name for p in (rootfs / "b").iterdir()) == ["new"]
    assert rootfs_of(cache, image) == rootfs  # once per digest


def test_a_layer_that_cannot_be_read_names_the_digest(cache: ImageCache) -> None:
    _, diff_id = _layer({"x": b"x"})
    image = _image(cache, [b"not a gzip stream at all"], [diff_id])
    with pytest.raises(BadInputError, match=image.digest):
        rootfs_of(cache, image)
    assert not (cache.root / "rootfs" / tag_of(image.digest)).exists()
