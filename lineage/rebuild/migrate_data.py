"""Copy content-addressed inputs and snapshots from one blob store to another.

A blob is named by the sha256 of its bytes, so a copy is checked by hashing it on the
way: the target store writes under a temporary name and moves the blob into place
only when the hash matches (``BlobStore.put_stream``). A copy cut off at any point
leaves only temporary names, which no reader trusts, and the next run copies again
what is missing. A blob already in the target is hashed too (unless told not to), and
replaced when its bytes no longer match: a re-run checks every digest.

Snapshot manifests are written after every blob they name, as ``snapshots.ops`` does.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

from lineage.digest import CHUNK, local_path
from lineage.errors import BadInputError, LineageError, NotFoundError
from lineage.rebuild.migrate_errors import MigrationTargetError, TamperedBlobError
from lineage.rebuild.migrate_local import copy_verified
from lineage.rebuild.progress import Progress, reporting
from lineage.snapshots import ops
from lineage.snapshots.blobs import BlobStore, LocalBlobStore, SourceChangedError, blob_key
from lineage.snapshots.manifest import Manifest
from lineage.snapshots.ops import manifest_key, meta_key

Opener = Callable[[], contextlib.AbstractContextManager[BinaryIO]]


@dataclass(frozen=True, slots=True)
class DataMigration:
    """What one data migration did; a finished migration run again copies 0 bytes."""

    source: str
    target: str
    blobs_copied: int
    blobs_present: int  # in the target already, and (when verified) hashing to their name
    blobs_replaced: int  # in the target under their name, with other bytes: copied again
    bytes_copied: int
    bytes_skipped: int
    manifests_copied: int = 0
    manifests_present: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hex(digest: str) -> str:
    text = digest.removeprefix("snapshot:").removeprefix("sha256:")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise BadInputError(f"{digest!r} is not a sha256 digest")
    return text


class _Reporting:
    """A read-only stream that tells the progress how far the copy has come."""

    def __init__(self, inner: BinaryIO, progress: Progress) -> None:
        self._inner = inner
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        block = self._inner.read(size)
        self._progress.advance(len(block))
        return block


@dataclass
class _Mover:
    source: BlobStore
    target: BlobStore
    progress: Progress
    verify_present: bool
    copied: int = 0
    present: int = 0
    replaced: int = 0
    bytes_copied: int = 0
    bytes_skipped: int = 0
    manifests_copied: int = 0
    manifests_present: int = 0
    _done: set[str] = field(default_factory=set)

    def target_failed(self, what: str, exc: Exception) -> LineageError:
        return MigrationTargetError(
            f"target store {self.target.location}: cannot write {what}: {type(exc).__name__}: {exc}"
        )

    def _held(self, key: str, sha256: str) -> int | None:
        """The size of the target's blob when it is there (and hashes to its name)."""
        try:
            if not self.target.exists(key):
                return None
            with self.target.open(key) as handle:
                if not self.verify_present:
                    return _size(handle)
                h, size = hashlib.sha256(), 0
                while block := handle.read(CHUNK):
                    h.update(block)
                    size += len(block)
        except OSError as exc:
            raise self.target_failed(key, exc) from exc
        if h.hexdigest() != sha256:
            self.replaced += 1
            return None
        return size

    def blob(self, sha256: str) -> None:
        where = f"source store {self.source.location}: blob {sha256}"
        local = self.source.root / blob_key(sha256) if _is_local(self.source) else None
        self.copy(sha256, lambda: self.source.open(blob_key(sha256)), where, local)

    def copy(self, sha256: str, open_source: Opener, where: str, local: Path | None) -> None:
        """Copy a blob into the target, checked against ``sha256`` before it takes its name.

        Between two directories on this machine (``local`` given) the kernel copies and
        the copy is hashed; otherwise ``open_source``'s bytes are hashed as they stream.
        """
        if sha256 in self._done:
            return
        key = blob_key(sha256)
        held = self._held(key, sha256)
        if held is not None:
            self.present += 1
            self.bytes_skipped += held
            self._done.add(sha256)
            return
        try:
            if local is not None and _is_local(self.target):
                if not local.is_file():
                    raise NotFoundError(f"{where}: not found")
                size = copy_verified(local, self.target.root / key, sha256, self.progress)
            else:
                size = self._stream(open_source, key, sha256, where)
        except SourceChangedError as exc:
            raise TamperedBlobError(
                f"{where} does not hash to its name ({exc}); "
                "refusing to copy it (tampered or corrupted)"
            ) from exc
        except OSError as exc:
            raise self.target_failed(key, exc) from exc
        finally:
            self.progress.finish()
        self.copied += 1
        self.bytes_copied += size
        self._done.add(sha256)

    def _stream(self, open_source: Opener, key: str, sha256: str, where: str) -> int:
        with contextlib.ExitStack() as stack:
            try:
                handle = stack.enter_context(open_source())
            except FileNotFoundError as exc:
                raise NotFoundError(f"{where}: not found") from exc
            size = _size(handle)
            self.progress.start(sha256[:12], size)
            self.target.put_stream(key, _Reporting(handle, self.progress), sha256)  # type: ignore[arg-type]
        return size

    def snapshot(self, root: str) -> None:
        where = f"source store {self.source.location}: snapshot {root}"
        data = self.source.get_bytes(manifest_key(root))
        manifest = Manifest.from_json(data, where)  # checks the entries against the root
        if manifest.root != root:
            raise TamperedBlobError(f"{where}: the manifest names root {manifest.root}")
        for entry in manifest.files:
            self.blob(entry.sha256)
        try:
            if self.manifest_held(root):
                self.manifests_present += 1
                return
            self.target.put_bytes(manifest_key(root), data)
            if self.source.exists(meta_key(root)) and not self.target.exists(meta_key(root)):
                self.target.put_bytes(meta_key(root), self.source.get_bytes(meta_key(root)))
        except OSError as exc:
            raise self.target_failed(manifest_key(root), exc) from exc
        self.manifests_copied += 1

    def manifest_held(self, root: str) -> bool:
        if not self.target.exists(manifest_key(root)):
            return False
        try:
            Manifest.from_json(self.target.get_bytes(manifest_key(root)), "target")
        except BadInputError:
            return False  # damaged in the target: written again
        return True

    def result(self) -> DataMigration:
        return DataMigration(
            self.source.location,
            self.target.location,
            self.copied,
            self.present,
            self.replaced,
            self.bytes_copied,
            self.bytes_skipped,
            self.manifests_copied,
            self.manifests_present,
        )


def blob_location(store: BlobStore, sha256: str) -> str:
    """Where a migrated blob can be read: the URI an importer in the target names."""
    key = blob_key(_hex(sha256))
    return str(store.root / key) if _is_local(store) else f"{store.location}/{key}"


def _is_local(store: BlobStore) -> TypeGuard[LocalBlobStore]:
    return isinstance(store, LocalBlobStore)


def _size(handle: BinaryIO) -> int:
    """Bytes left in a seekable stream, without reading them."""
    here = handle.tell()
    end = handle.seek(0, 2)
    handle.seek(here)
    return end - here


def _probe(target: BlobStore) -> None:
    """Fail before anything moves when the target store cannot be reached at all."""
    try:
        target.exists(blob_key("0" * 64))
    except OSError as exc:  # a missing fsspec backend stays a ConfigError: nothing to retry
        raise MigrationTargetError(
            f"target store {target.location} is unreachable: {type(exc).__name__}: {exc}"
        ) from exc


def _run(
    source: BlobStore | None,
    target: BlobStore,
    verify_present: bool,
    progress: Progress | None,
    work: Callable[[_Mover], None],
) -> DataMigration:
    _probe(target)
    with reporting(progress) as bar:
        mover = _Mover(source or target, target, bar, verify_present)
        work(mover)
    return mover.result()


def migrate_blobs(
    digests: Iterable[str],
    source: BlobStore,
    target: BlobStore,
    *,
    verify_present: bool = True,
    progress: Progress | None = None,
) -> DataMigration:
    """Copy the blobs named by ``digests`` (``sha256:<hex>`` or ``<hex>``) into ``target``."""
    names = [_hex(d) for d in digests]  # every name checked before anything moves

    def work(mover: _Mover) -> None:
        for name in names:
            mover.blob(name)

    return _run(source, target, verify_present, progress, work)


def migrate_snapshots(
    snapshot_ids: Iterable[str],
    source: BlobStore,
    target: BlobStore,
    *,
    verify_present: bool = True,
    progress: Progress | None = None,
) -> DataMigration:
    """Copy snapshots (``snapshot:sha256:<root>`` or the root) with every blob they hold."""
    roots = [_hex(s) for s in snapshot_ids]

    def work(mover: _Mover) -> None:
        for root in roots:
            mover.snapshot(root)

    return _run(source, target, verify_present, progress, work)


def migrate_inputs(
    inputs: Iterable[tuple[str, str]],
    target: BlobStore,
    *,
    verify_present: bool = True,
    progress: Progress | None = None,
) -> DataMigration:
    """Copy inputs named by ``(uri, sha256)`` into ``target`` as blobs (a directory: a snapshot).

    A file (a path or an fsspec URL) becomes the blob of its digest; a local directory
    becomes the snapshot whose root is its digest, as ``content_digest`` names it.
    """
    pairs = [(uri, _hex(digest)) for uri, digest in inputs]

    def work(mover: _Mover) -> None:
        for uri, sha256 in pairs:
            _input(mover, uri, sha256)

    return _run(None, target, verify_present, progress, work)


def _input(mover: _Mover, uri: str, sha256: str) -> None:
    path = local_path(uri)
    if path is not None and path.is_dir():
        if mover.manifest_held(sha256):  # every blob still checked, and restored if lost
            manifest = ops.load(mover.target, sha256)
            for entry in manifest.files:
                file = path / entry.path
                opener = functools.partial(_open_uri, str(file))
                mover.copy(entry.sha256, opener, f"input {file}", file)
            mover.manifests_present += 1
            return
        try:
            created = ops.create(path, mover.target)
        except OSError as exc:
            raise mover.target_failed(f"a snapshot of {uri}", exc) from exc
        mover.copied += created.blobs_written
        mover.present += created.blobs_reused
        mover.bytes_copied += created.manifest.size
        mover.manifests_copied += 1
        if created.manifest.root != sha256:
            raise TamperedBlobError(
                f"input {uri}: the directory hashes to sha256:{created.manifest.root}, "
                f"not sha256:{sha256}; refusing it (changed since it was recorded)"
            )
        return
    mover.copy(sha256, lambda: _open_uri(uri), f"input {uri}", path)


def _open_uri(uri: str) -> contextlib.AbstractContextManager[BinaryIO]:
    path = local_path(uri)
    try:
        if path is not None:
            return open(path, "rb")
        import fsspec

        opened: contextlib.AbstractContextManager[BinaryIO] = fsspec.open(uri, "rb")
        return opened
    except FileNotFoundError as exc:
        raise NotFoundError(f"input {uri}: no such file") from exc
    except (ImportError, ValueError) as exc:
        raise BadInputError(f"input {uri}: no filesystem for this URI: {exc}") from exc
