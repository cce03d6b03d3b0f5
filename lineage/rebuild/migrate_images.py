"""Copy an image by digest from one registry to another over the OCI Distribution API.

Children before parents: every blob before the manifest that names it, every platform
manifest before the index. A registry accepts a manifest only when it holds what the
manifest names, so an interrupted copy leaves no manifest that a later run (or a pull)
could trust, and the next run skips the blobs already there (HEAD) and copies the rest.

Blobs stream from source to target, never whole in memory. Each is hashed on the way;
the last chunk is held back until the hash is known, so a target never receives the
complete bytes of a blob that does not match its digest. When source and target are
the same registry, a blob is mounted across repositories instead of copied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from lineage.digest import CHUNK
from lineage.errors import BadInputError, LineageError, NotFoundError, UnavailableError
from lineage.images.client import (
    ACCEPT,
    INDEX_TYPES,
    DigestMismatchError,
    RegistryAuthError,
    RegistryClient,
    check_digest,
)
from lineage.images.reference import ImageReference, parse_reference
from lineage.rebuild.migrate_errors import MigrationTargetError, TamperedBlobError
from lineage.rebuild.progress import Progress, reporting


@dataclass(frozen=True, slots=True)
class ImageMigration:
    """What one image migration did; a finished migration run again copies 0 bytes."""

    source: str  # registry/repo@digest
    target: str  # target_registry/repo@digest, verified on the target
    digest: str
    manifests_copied: int
    manifests_present: int
    blobs_copied: int
    blobs_mounted: int
    blobs_present: int
    bytes_copied: int
    bytes_skipped: int  # held already or mounted

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Counts:
    manifests_copied: int = 0
    manifests_present: int = 0
    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    bytes_copied: int = 0
    bytes_skipped: int = 0


def _scope(repository: str, actions: str) -> str:
    return f"repository:{repository}:{actions}"


@dataclass
class _Copier:
    client: RegistryClient
    source: ImageReference
    target: ImageReference
    progress: Progress
    counts: _Counts = field(default_factory=_Counts)
    _seen: set[str] = field(default_factory=set)

    # --- HTTP ------------------------------------------------------------------

    def _url(self, ref: ImageReference, path: str) -> str:
        return f"{self.client.base_url(ref)}/v2/{ref.repository}/{path}"

    def _send(
        self,
        method: str,
        url: str,
        ref: ImageReference,
        scope: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One request with the client's auth (challenge answered once) and retries."""
        answered, attempt = False, 0
        while True:
            sent = {"Accept": ACCEPT, **(headers or {})}
            auth = self.client._auth_header(ref.registry, scope)
            if auth:
                sent["Authorization"] = auth
            try:
                response = self.client.http.request(method, url, headers=sent, content=content)
            except httpx.HTTPError as exc:
                raise self._unreachable(ref, url, exc) from exc
            if response.status_code == 401 and not answered:
                answered = True
                self.client._answer_challenge(response, ref, scope)
                continue
            if response.status_code in (429, 502, 503, 504) and attempt < self.client.retries:
                self.client.sleep(self.client._delay(response, attempt))
                attempt += 1
                continue
            return response

    def _unreachable(self, ref: ImageReference, url: str, exc: Exception) -> LineageError:
        role = "target" if ref is self.target else "source"
        message = (
            f"image {self.source}: cannot reach the {role} registry {ref.registry} "
            f"({url}): {type(exc).__name__}: {exc}"
        )
        return MigrationTargetError(message) if role == "target" else UnavailableError(message)

    def _refused(self, ref: ImageReference, what: str, response: httpx.Response) -> LineageError:
        role = "target" if ref is self.target else "source"
        try:
            detail = response.read()[:200].decode(errors="replace").strip().replace("\n", " ")
        except httpx.HTTPError:
            detail = ""
        status = response.status_code
        message = (
            f"image {self.source}: the {role} registry {ref.registry} refused {what} "
            f"(HTTP {status}{': ' + detail if detail else ''})"
        )
        if role == "target":
            return MigrationTargetError(message)
        if status == 404:
            return NotFoundError(message)
        if status in (401, 403):
            return RegistryAuthError(message)
        return UnavailableError(message)

    # --- manifests ---------------------------------------------------------------

    def fetch_manifest(self, digest: str) -> tuple[bytes, str]:
        """The source manifest's bytes, checked against its digest, and its media type."""
        url = self._url(self.source, f"manifests/{digest}")
        response = self._send("GET", url, self.source, _scope(self.source.repository, "pull"))
        if response.status_code != 200:
            raise self._refused(self.source, f"manifest {digest}", response)
        body = response.content
        check_digest(self.source, body, digest)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise BadInputError(f"image {self.source}: manifest {digest} is not JSON") from exc
        media = str(doc.get("mediaType") or response.headers.get("Content-Type", "")).split(";")[0]
        return body, media.strip()

    def copy_manifest(self, digest: str) -> None:
        body, media_type = self.fetch_manifest(digest)
        doc = json.loads(body)
        if media_type in INDEX_TYPES:
            for child in doc.get("manifests") or []:
                self.copy_manifest(str(child["digest"]))
        else:
            for descriptor in [doc.get("config"), *(doc.get("layers") or [])]:
                if isinstance(descriptor, dict) and descriptor.get("digest"):
                    self.copy_blob(str(descriptor["digest"]), int(descriptor.get("size", 0)))
        push = _scope(self.target.repository, "pull,push")
        url = self._url(self.target, f"manifests/{digest}")
        if self._send("HEAD", url, self.target, push).status_code == 200:
            self.counts.manifests_present += 1
            return
        put = self._send("PUT", url, self.target, push, {"Content-Type": media_type}, body)
        if put.status_code != 201:
            raise self._refused(self.target, f"manifest {digest}", put)
        served = put.headers.get("Docker-Content-Digest")
        if served and served != digest:
            raise DigestMismatchError(
                f"image {self.source}: the target registry {self.target.registry} stored "
                f"manifest {digest} as {served}"
            )
        self.counts.manifests_copied += 1

    # --- blobs -------------------------------------------------------------------

    def copy_blob(self, digest: str, size: int) -> None:
        if digest in self._seen:  # a layer shared by two platforms is handled once
            return
        self._seen.add(digest)
        push = _scope(self.target.repository, "pull,push")
        head = self._send("HEAD", self._url(self.target, f"blobs/{digest}"), self.target, push)
        if head.status_code == 200:
            self.counts.blobs_present += 1
            self.counts.bytes_skipped += size
            return
        location = self._start_upload(digest, push)
        if location is None:
            self.counts.blobs_mounted += 1
            self.counts.bytes_skipped += size
            return
        self.progress.start(f"{self.target.repository} {digest[7:19]}", size)
        try:
            self._stream_blob(digest, size, location)
        finally:
            self.progress.finish()
        self.counts.blobs_copied += 1
        self.counts.bytes_copied += size

    def _start_upload(self, digest: str, push: str) -> str | None:
        """An upload session's URL, or None when the registry mounted the blob instead."""
        url = self._url(self.target, "blobs/uploads/")
        same = self.source.registry == self.target.registry
        if same and self.source.repository != self.target.repository:
            url += f"?mount={digest}&from={self.source.repository}"
            push += " " + _scope(self.source.repository, "pull")
        response = self._send("POST", url, self.target, push, {"Content-Length": "0"}, b"")
        if response.status_code == 201:
            return None
        location = response.headers.get("Location")
        if response.status_code != 202 or not location:
            raise self._refused(self.target, f"an upload of blob {digest}", response)
        return str(httpx.URL(url).join(location))

    def _stream_blob(self, digest: str, size: int, location: str) -> None:
        pull = _scope(self.source.repository, "pull")
        push = _scope(self.target.repository, "pull,push")
        source_url = self._url(self.source, f"blobs/{digest}")
        with self._open_source(source_url, pull) as got:
            if got.status_code != 200:
                raise self._refused(self.source, f"blob {digest}", got)
            body = self._verified(got.iter_raw(CHUNK), digest, size)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
            auth = self.client._auth_header(self.target.registry, push)
            if auth:
                headers["Authorization"] = auth
            url = httpx.URL(location).copy_merge_params({"digest": digest})
            try:
                put = self.client.http.put(url, headers=headers, content=body)
            except httpx.HTTPError as exc:
                raise self._unreachable(self.target, str(url), exc) from exc
        if put.status_code != 201:
            raise self._refused(self.target, f"blob {digest}", put)

    @contextlib.contextmanager
    def _open_source(self, url: str, scope: str) -> Iterator[httpx.Response]:
        headers = {}
        auth = self.client._auth_header(self.source.registry, scope)
        if auth:
            headers["Authorization"] = auth
        try:
            with self.client.http.stream("GET", url, headers=headers) as response:
                yield response
        except httpx.HTTPError as exc:
            raise self._unreachable(self.source, url, exc) from exc

    def _verified(self, chunks: Iterator[bytes], digest: str, size: int) -> Iterator[bytes]:
        """Pass chunks on while hashing them, holding the last back until the hash is known."""
        algorithm, _, expected = digest.partition(":")
        if algorithm not in ("sha256", "sha512"):
            raise BadInputError(f"image {self.source}: unsupported digest {digest!r}")
        h = hashlib.new(algorithm)
        held = b""
        read = 0
        for chunk in self._reading(chunks):
            if held:
                yield held
            h.update(chunk)
            read += len(chunk)
            self.progress.advance(len(chunk))
            if read > size:
                break
            held = chunk
        if read != size or h.hexdigest() != expected:
            raise TamperedBlobError(
                f"image {self.source}: the source registry {self.source.registry} served "
                f"{read} bytes hashing to {algorithm}:{h.hexdigest()} for blob {digest} "
                f"({size} bytes); refusing to copy it (tampered or corrupted)"
            )
        if held:
            yield held

    def _reading(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The source's chunks; a source that drops mid-blob is named as the source."""
        try:
            yield from chunks
        except httpx.HTTPError as exc:
            raise self._unreachable(self.source, f"blob of {self.source}", exc) from exc


def _check_reachable(client: RegistryClient, target: ImageReference, source: str) -> None:
    """Fail before anything moves when the target registry does not answer at all."""
    url = f"{client.base_url(target)}/v2/"
    try:
        client.http.get(url)
    except httpx.HTTPError as exc:
        raise MigrationTargetError(
            f"image {source}: cannot reach the target registry {target.registry} ({url}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def migrate_image(
    source: str | ImageReference,
    target_registry: str,
    *,
    repository: str | None = None,
    client: RegistryClient | None = None,
    insecure: Collection[str] = (),
    progress: Progress | None = None,
) -> ImageMigration:
    """Copy ``source`` (pinned by digest, or resolved to one) into ``target_registry``.

    The image keeps its repository path unless ``repository`` is given. Idempotent: run
    again after it finished, it copies nothing; after an interruption, it copies the
    rest. The target's manifest is fetched back and hashed before this returns.
    """
    ref = parse_reference(source) if isinstance(source, str) else source
    if not target_registry or "/" in target_registry or target_registry != target_registry.strip():
        raise BadInputError(f"target registry {target_registry!r} is not a host[:port]")
    own = client is None
    client = client or RegistryClient(insecure=insecure)
    try:
        digest = ref.digest or client.resolve(ref).digest
        pinned = ImageReference(ref.registry, ref.repository, None, digest)
        target = ImageReference(target_registry, repository or ref.repository, None, digest)
        _check_reachable(client, target, str(pinned))
        with reporting(progress) as bar:
            copier = _Copier(client, pinned, target, bar)
            copier.copy_manifest(digest)
        stored = client.resolve(target)  # GET by digest and hashed: the copy is what we meant
        if stored.digest != digest:
            raise DigestMismatchError(f"image {pinned}: the target holds {stored.digest}")
    finally:
        if own:
            client.close()
    return ImageMigration(str(pinned), str(target), digest, **asdict(copier.counts))


def migrate_images(
    sources: Iterable[str | ImageReference],
    target_registry: str,
    *,
    client: RegistryClient | None = None,
    insecure: Collection[str] = (),
    progress: Progress | None = None,
) -> list[ImageMigration]:
    """``migrate_image`` for each source in order, over one connection pool and its tokens.

    Images that share layers copy each layer once: the later ones find it present.
    """
    own = client is None
    client = client or RegistryClient(insecure=insecure)
    try:
        return [
            migrate_image(source, target_registry, client=client, progress=progress)
            for source in sources
        ]
    finally:
        if own:
            client.close()
