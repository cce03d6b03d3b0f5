"""A local, content-addressed image cache: pull by digest, verify every blob.

The cache is one OCI image layout (``<root>/layout``): ``blobs/sha256/<hex>`` holds each
blob once, whatever image or registry it came from, and ``index.json`` names every
manifest pulled so far by its digest. A blob is written to a temporary file while it is
hashed and renamed into place only when its sha256 equals its digest, so a blob in the
cache is always one that was verified; a mismatch raises an error naming the digest and
leaves nothing behind. A manifest enters ``index.json`` only once all its blobs are in.

Pulling goes through ``lineage.images.client.RegistryClient`` (its auth, retries and
insecure hosts); blobs are streamed, never held whole in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from lineage.digest import CHUNK
from lineage.errors import BadInputError, NotFoundError, UnavailableError
from lineage.images.client import ACCEPT, INDEX_TYPES, DigestMismatchError, RegistryClient
from lineage.images.reference import ImageReference

# OCI architecture names of the machines a sandbox can run on.
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
REF_NAME = "org.opencontainers.image.ref.name"


class TamperedBlobError(DigestMismatchError):
    """A blob whose bytes do not hash to the digest the manifest names."""


@dataclass(frozen=True, slots=True)
class CachedImage:
    """A pulled image: the manifest digest that runs and what its config says to run with."""

    reference: ImageReference  # where it was pulled from, by digest
    digest: str  # the platform manifest's digest (what actually runs)
    layers: tuple[str, ...]
    env: tuple[str, ...]
    working_dir: str


@dataclass
class ImageCache:
    root: Path
    client: RegistryClient

    @property
    def layout(self) -> Path:
        return self.root / "layout"

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.layout / "blobs" / algorithm / hexdigest

    def pull(self, ref: ImageReference) -> CachedImage:
        """The image ``ref`` names (a digest, or a tag resolved once), every blob verified."""
        digest = ref.digest or self.client.resolve(ref).digest
        pinned = ImageReference(ref.registry, ref.repository, None, digest)
        doc = self._manifest(pinned, digest)
        if str(doc.get("mediaType", "")) in INDEX_TYPES:
            digest = _platform_digest(pinned, doc)
            pinned = ImageReference(ref.registry, ref.repository, None, digest)
            doc = self._manifest(pinned, digest)
        config_digest = str(doc.get("config", {}).get("digest", ""))
        layers = tuple(str(layer["digest"]) for layer in doc.get("layers") or [])
        for blob in (config_digest, *layers):
            self._blob(pinned, blob)
        self._name(digest, doc)
        config = json.loads(self.blob_path(config_digest).read_bytes()).get("config") or {}
        return CachedImage(
            reference=pinned,
            digest=digest,
            layers=layers,
            env=tuple(str(e) for e in config.get("Env") or ()),
            working_dir=str(config.get("WorkingDir") or "/"),
        )

    # --- manifests ---------------------------------------------------------------

    def _manifest(self, ref: ImageReference, digest: str) -> dict[str, Any]:
        path = self.blob_path(digest)
        if not path.exists():
            url = f"{self.client.base_url(ref)}/v2/{ref.repository}/manifests/{digest}"
            with self._get(ref, url, f"manifest {digest}") as response:
                self._store(response.iter_bytes(CHUNK), digest, ref)
        try:
            doc = json.loads(path.read_bytes())
        except ValueError as exc:
            raise BadInputError(f"image {ref}: the manifest {digest} is not JSON") from exc
        if not isinstance(doc, dict):
            raise BadInputError(f"image {ref}: the manifest {digest} is not a JSON object")
        return doc

    def _name(self, digest: str, doc: dict[str, Any]) -> None:
        """Adds the manifest to index.json (tagged by its hex digest, for umoci)."""
        index_path = self.layout / "index.json"
        index = json.loads(index_path.read_text()) if index_path.exists() else {}
        manifests = [m for m in index.get("manifests", []) if m.get("digest") != digest]
        manifests.append(
            {
                "mediaType": str(
                    doc.get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
                ),
                "digest": digest,
                "size": self.blob_path(digest).stat().st_size,
                "annotations": {REF_NAME: tag_of(digest)},
            }
        )
        _atomic_write(index_path, json.dumps({"schemaVersion": 2, "manifests": manifests}))
        _atomic_write(self.layout / "oci-layout", '{"imageLayoutVersion":"1.0.0"}')

    # --- blobs -------------------------------------------------------------------

    def _blob(self, ref: ImageReference, digest: str) -> None:
        if self.blob_path(digest).exists():  # verified when it was written
            return
        url = f"{self.client.base_url(ref)}/v2/{ref.repository}/blobs/{digest}"
        with self._get(ref, url, f"blob {digest}") as response:
            self._store(response.iter_bytes(CHUNK), digest, ref)

    def _store(self, chunks: Iterator[bytes], digest: str, ref: ImageReference) -> None:
        algorithm, _, expected = digest.partition(":")
        if algorithm not in ("sha256", "sha512"):
            raise BadInputError(f"image {ref}: unsupported digest {digest!r}")
        target = self.blob_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.new(algorithm)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".pull-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
            if hasher.hexdigest() != expected:
                raise TamperedBlobError(
                    f"image {ref}: blob {digest} hashes to {algorithm}:{hasher.hexdigest()}; "
                    "refusing it (tampered or corrupted), nothing runs"
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @contextmanager
    def _get(self, ref: ImageReference, url: str, what: str) -> Iterator[httpx.Response]:
        """GET ``url`` streamed, with the client's credentials (answering one challenge)."""
        client = self.client
        scope = f"repository:{ref.repository}:pull"
        for attempt in range(2):
            headers = {"Accept": ACCEPT}
            auth = client._auth_header(ref.registry, scope)
            if auth:
                headers["Authorization"] = auth
            try:
                with client.http.stream("GET", url, headers=headers) as response:
                    if response.status_code == 401 and attempt == 0:
                        response.read()
                        client._answer_challenge(response, ref, scope)
                        continue
                    if response.status_code == 404:
                        raise NotFoundError(
                            f"image {ref}: the registry {ref.registry} has no {what} (HTTP 404); "
                            "nothing runs"
                        )
                    if response.status_code != 200:
                        raise UnavailableError(
                            f"image {ref}: the registry {ref.registry} answered HTTP "
                            f"{response.status_code} for {what}"
                        )
                    yield response
                    return
            except httpx.HTTPError as exc:
                raise UnavailableError(
                    f"image {ref}: cannot fetch {what} from {ref.registry}: {exc}"
                ) from exc
        raise UnavailableError(f"image {ref}: the registry {ref.registry} refused {what}")


def tag_of(digest: str) -> str:
    """The layout tag a manifest is kept under: its digest, as a valid ref name."""
    return digest.replace(":", "-")


def _platform_digest(ref: ImageReference, index: dict[str, Any]) -> str:
    arch = _ARCH.get(platform.machine(), platform.machine())
    for child in index.get("manifests") or []:
        plat = child.get("platform") or {}
        if plat.get("os") == "linux" and plat.get("architecture") == arch:
            return str(child["digest"])
    raise NotFoundError(f"image {ref}: the index {ref.digest} has no linux/{arch} manifest")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
