"""Content digests of the artifacts KFP recorded (``--digest-artifacts``).

KFP records an artifact by its URI (``minio://``, ``gs://``, ``s3://``...) and never by
its content, so two runs that read "the same" dataset may have read different bytes.
With ``--digest-artifacts`` each artifact without a digest is read through fsspec and
gets ``digest`` (``sha256:<hex>``) and ``digest_kind`` (``file``, or ``tree`` for a
directory: the Merkle root that snapshots use). An artifact that gets none carries
``digest_absent``, the reason, as the local runs record it:

- ``not requested``: the ingest ran without ``--digest-artifacts``;
- ``unreachable: <error>``: no filesystem for the URI, no credentials, nothing there...;
- ``over the size cap: <n> bytes > <cap>``: reading it would cost more than allowed;
- ``no URI``: the source named no location.

A digest, once stored, is kept: a later ingest (with or without the option) never
drops it, and never reads the artifact again. ``minio://bucket/key`` is KFP's name for
an object on its MinIO: it is read as ``s3://bucket/key`` at ``endpoint``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from lineage.digest import TreeEntry, content_digest, local_path, merkle_root, sha256_stream
from lineage.model import Artifact, LineageType, PropertyValue, RunRecord
from lineage.store.port import MetadataStore, WriteResult

NOT_REQUESTED = "not requested"
NO_URI = "no URI"
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB
DIGEST_KEYS = ("digest", "digest_kind", "digest_absent")
# Our own node types carry their own identity; only what a source recorded is digested.
_OWN_TYPES = frozenset(t.value for t in LineageType)

# Called with the bytes just read, and the bytes the current artifact holds in all.
ByteProgress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class DigestOptions:
    enabled: bool = False
    max_bytes: int | None = DEFAULT_MAX_BYTES  # None: no cap
    endpoint: str | None = None  # the S3 endpoint ``minio://`` and ``s3://`` are read at


@dataclass(frozen=True, slots=True)
class Found:
    digest: str | None
    kind: str | None
    absent: str | None

    def properties(self) -> dict[str, PropertyValue]:
        if self.digest is not None:
            return {"digest": self.digest, "digest_kind": self.kind or "file"}
        return {"digest_absent": self.absent or NOT_REQUESTED}


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


@dataclass
class ArtifactDigester:
    """Digests URIs through fsspec, each URI once per ingest."""

    options: DigestOptions = field(default_factory=DigestOptions)
    progress: ByteProgress | None = None
    _seen: dict[str, Found] = field(default_factory=dict)

    def _filesystem(self, uri: str) -> tuple[Any, str]:
        import fsspec

        storage: dict[str, Any] = {}
        if uri.startswith("minio://"):
            uri = "s3://" + uri[len("minio://") :]
        if uri.startswith("s3://") and self.options.endpoint:
            storage["endpoint_url"] = self.options.endpoint
        fs, path = fsspec.core.url_to_fs(uri, **storage)
        return fs, str(path)

    def digest(self, uri: str) -> Found:
        if not uri:
            return Found(None, None, NO_URI)
        if not self.options.enabled:
            return Found(None, None, NOT_REQUESTED)
        if uri not in self._seen:
            try:
                self._seen[uri] = self._read(uri)
            except Exception as exc:  # every filesystem (s3fs, gcsfs...) raises its own
                self._seen[uri] = Found(None, None, f"unreachable: {_short(exc)}")
        return self._seen[uri]

    def _read(self, uri: str) -> Found:
        fs, path = self._filesystem(uri)
        if not fs.exists(path):
            return Found(None, None, f"unreachable: nothing at {uri}")
        is_dir = bool(fs.isdir(path))
        files = sorted(fs.find(path)) if is_dir else [path]
        sizes = {name: int(fs.size(name) or 0) for name in files}
        total = sum(sizes.values())
        cap = self.options.max_bytes
        if cap is not None and total > cap:
            return Found(None, None, f"over the size cap: {total} bytes > {cap}")
        if local_path(uri) is not None:
            # Local trees keep their real file modes: the digest a local run and a
            # snapshot of the same directory give.
            found = content_digest(uri)
            if self.progress is not None:
                self.progress(total, total)
            return Found(found.value, found.kind, None)
        hashes = {name: self._hash(fs, name, total) for name in files}
        if not is_dir:
            return Found(f"sha256:{hashes[path]}", "file", None)
        base = path.rstrip("/")
        entries = [
            # Object stores keep no modes: files 0o644, as snapshots of remote trees do.
            TreeEntry(name[len(base) :].lstrip("/"), "file", 0o644, sizes[name], hashes[name])
            for name in files
        ]
        return Found(f"sha256:{merkle_root(entries)}", "tree", None)

    def _hash(self, fs: Any, name: str, total: int) -> str:
        with fs.open(name, "rb") as handle:
            if self.progress is None:
                return sha256_stream(handle)
            return sha256_stream(cast(BinaryIO, _Counted(handle, self.progress, total)))

    def prepare(self, record: RunRecord, stored: Mapping[str, Artifact]) -> RunRecord:
        """The record, each artifact with a digest or the reason it has none; a digest
        the source gave, or the store already holds, is kept as it is."""
        artifacts: list[Artifact] = []
        for art in record.artifacts:
            if art.type in _OWN_TYPES or "digest" in art.properties:
                artifacts.append(art)
                continue
            old = stored.get(art.id)
            kept = old is not None and (
                "digest" in old.properties
                # Not asked to read it now: the last reason given stays (it says more).
                or ("digest_absent" in old.properties and not self.options.enabled)
            )
            if kept and old is not None:
                facts = {k: old.properties[k] for k in DIGEST_KEYS if k in old.properties}
            else:
                facts = self.digest(art.uri).properties()
            props = {k: v for k, v in art.properties.items() if k not in DIGEST_KEYS}
            artifacts.append(
                Artifact(art.id, art.type, art.uri, art.name, art.state, {**props, **facts})
            )
        return RunRecord(record.contexts, record.executions, tuple(artifacts), record.events)


class _Counted:
    """A binary stream that reports the bytes read through it."""

    def __init__(self, inner: Any, progress: ByteProgress, total: int) -> None:
        self._inner = inner
        self._progress = progress
        self._total = total

    def read(self, size: int = -1) -> bytes:
        block: bytes = self._inner.read(size)
        if block:
            self._progress(len(block), self._total)
        return block


def stored_artifacts(store: MetadataStore, ids: Sequence[str]) -> dict[str, Artifact]:
    return {a.id: a for a in store.get_artifacts(list(ids))} if ids else {}


def write_with_digests(
    store: MetadataStore, digester: ArtifactDigester, record: RunRecord
) -> WriteResult:
    """``put_run`` of the record, its artifacts digested (or told why not) first."""
    stored = stored_artifacts(store, [a.id for a in record.artifacts])
    return store.put_run(digester.prepare(record, stored))
