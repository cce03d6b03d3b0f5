"""The BlobStore contract on a local directory and on fsspec URLs."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lineage.snapshots.blobs import BlobStore, FsspecBlobStore, LocalBlobStore
from tests.contracts.blob import BlobContract


class TestLocalBlobStore(BlobContract):
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> BlobStore:
        return LocalBlobStore(tmp_path / "store")


class TestFsspecMemoryBlobStore(BlobContract):
    @pytest.fixture
    def blobs(self) -> BlobStore:
        return FsspecBlobStore(f"memory://snapshots-{uuid.uuid4().hex}")


class TestFsspecFileBlobStore(BlobContract):
    """fsspec's local filesystem: the code path of object stores, on a directory."""

    @pytest.fixture
    def blobs(self, tmp_path: Path) -> BlobStore:
        return FsspecBlobStore(f"file://{tmp_path / 'store'}")
