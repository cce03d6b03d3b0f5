"""Blob stores for snapshots: a local directory or any fsspec URL, content-addressed.

Keys are '/'-separated. File contents live at ``blobs/sha256/<hex>``, so a file
held by many snapshots is stored once. Every write lands under a temporary key
and is moved into place, so a reader never sees half a blob.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from lineage.digest import CHUNK
from lineage.errors import BadInputError, ConfigError, NotFoundError


def blob_key(sha256: str) -> str:
    return f"blobs/sha256/{sha256}"


class BlobStore(Protocol):
    """Where snapshot manifests and file contents live."""

    @property
    def location(self) -> str: ...

    def exists(self, key: str) -> bool: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_bytes(self, key: str) -> bytes: ...

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def put_stream(self, key: str, source: BinaryIO, sha256: str) -> None:
        """Copy ``source`` to ``key``; refuse (store nothing) when it does not hash to sha256."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys under a prefix ('/'-terminated), sorted."""
        ...


class SourceChangedError(BadInputError):
    """The bytes copied did not hash to what the scan saw: the source changed under us."""


def _copy_hashed(source: BinaryIO, target: BinaryIO) -> str:
    h = hashlib.sha256()
    while block := source.read(CHUNK):
        h.update(block)
        target.write(block)
    return h.hexdigest()


class LocalBlobStore:
    """A directory on this machine; the default is ``$LINEAGE_HOME/snapshots``."""

    def __init__(self, root: Path) -> None:
        if root.exists() and not root.is_dir():
            # Listing a file as a store would show no snapshots and succeed: say what it is.
            raise ConfigError(f"snapshot store {root} is a file, not a directory")
        self.root = root
        self._dirs: set[Path] = set()  # made already: saves a syscall per blob

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    @contextlib.contextmanager
    def _writing(self, key: str) -> Iterator[BinaryIO]:
        final = self._path(key)
        if final.parent not in self._dirs:
            final.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(final.parent)
        tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex}")
        try:
            with open(tmp, "wb") as handle:
                yield handle
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._writing(key) as handle:
            handle.write(data)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"{self.location}: no {key}") from exc

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFoundError(f"{self.location}: no {key}") from exc
        with handle:
            yield handle

    def put_stream(self, key: str, source: BinaryIO, sha256: str) -> None:
        with self._writing(key) as handle:
            got = _copy_hashed(source, handle)
            if got != sha256:
                raise SourceChangedError(f"read {got}, expected {sha256}")

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            f"{prefix}{p.name}" for p in base.iterdir() if p.is_file() and ".tmp-" not in p.name
        )


class FsspecBlobStore:
    """Any fsspec URL (``s3://bucket/snapshots`` with s3fs installed, ``memory://x``...)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._fs: Any = None
        self._base = ""

    @property
    def location(self) -> str:
        return self.url

    @property
    def fs(self) -> Any:
        # Lazy: building the filesystem may connect (object stores); never in __init__.
        if self._fs is None:
            try:
                import fsspec

                self._fs, self._base = fsspec.core.url_to_fs(self.url)
            except ImportError as exc:
                raise ConfigError(
                    f"snapshot store {self.url}: this URL needs an fsspec backend "
                    f"that is not installed ({exc}); e.g. pip install s3fs for s3://"
                ) from exc
            except ValueError as exc:
                raise ConfigError(f"snapshot store {self.url}: {exc}") from exc
            self._base = self._base.rstrip("/")
        return self._fs

    def _path(self, key: str) -> str:
        self.fs  # noqa: B018 - resolves _base on first use
        return f"{self._base}/{key}" if self._base else key

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def _commit(self, tmp: str, key: str) -> None:
        self.fs.mv(tmp, self._path(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        tmp = f"{self._path(key)}.tmp-{uuid.uuid4().hex}"
        self.fs.makedirs(tmp.rpartition("/")[0], exist_ok=True)
        self.fs.pipe_file(tmp, data)
        self._commit(tmp, key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError as exc:
            raise NotFoundError(f"{self.location}: no {key}") from exc

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            handle = self.fs.open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"{self.location}: no {key}") from exc
        with handle:
            yield handle

    def put_stream(self, key: str, source: BinaryIO, sha256: str) -> None:
        tmp = f"{self._path(key)}.tmp-{uuid.uuid4().hex}"
        self.fs.makedirs(tmp.rpartition("/")[0], exist_ok=True)
        try:
            with self.fs.open(tmp, "wb") as handle:
                got = _copy_hashed(source, handle)
            if got != sha256:
                raise SourceChangedError(f"read {got}, expected {sha256}")
            self._commit(tmp, key)
        finally:
            with contextlib.suppress(FileNotFoundError):
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix).rstrip("/")
        try:
            names = self.fs.ls(base, detail=False)
        except FileNotFoundError:
            return []
        keys = [f"{prefix}{str(n).rstrip('/').rpartition('/')[2]}" for n in names]
        return sorted(k for k in keys if ".tmp-" not in k)


def open_blob_store(url: str | None, home: Path) -> BlobStore:
    """The store named by a URL or path; ``$LINEAGE_HOME/snapshots`` when none is given."""
    if not url:
        return LocalBlobStore(home.expanduser() / "snapshots")
    if url.startswith("file://"):
        return LocalBlobStore(Path(url[len("file://") :]))
    if "://" not in url:
        return LocalBlobStore(Path(url).expanduser())
    return FsspecBlobStore(url)
