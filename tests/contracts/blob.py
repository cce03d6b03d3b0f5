"""The BlobStore contract: what snapshots rely on from wherever their blobs are kept.

A subclass provides the ``blobs`` fixture, any BlobStore, empty.
"""

from __future__ import annotations

import hashlib
import io

import pytest

from lineage.errors import NotFoundError
from lineage.snapshots.blobs import BlobStore, SourceChangedError, blob_key

DATA = b"x,y\n1,2\n" * 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobContract:
    @pytest.fixture
    def blobs(self) -> BlobStore:
        raise NotImplementedError

    def test_bytes_written_are_read_back_bit_identical(self, blobs: BlobStore) -> None:
        blobs.put_bytes("manifests/a.json", DATA)
        assert blobs.exists("manifests/a.json")
        assert blobs.get_bytes("manifests/a.json") == DATA
        with blobs.open("manifests/a.json") as handle:
            assert handle.read() == DATA

    def test_a_write_replaces_the_whole_blob(self, blobs: BlobStore) -> None:
        blobs.put_bytes("k", DATA)
        blobs.put_bytes("k", b"short")
        assert blobs.get_bytes("k") == b"short"

    def test_an_unknown_key_is_not_found_by_name(self, blobs: BlobStore) -> None:
        assert not blobs.exists("manifests/none.json")
        with pytest.raises(NotFoundError, match=r"manifests/none\.json"):
            blobs.get_bytes("manifests/none.json")
        with (
            pytest.raises(NotFoundError, match=r"manifests/none\.json"),
            blobs.open("manifests/none.json"),
        ):
            pass

    def test_a_stream_is_stored_under_its_hash(self, blobs: BlobStore) -> None:
        key = blob_key(sha(DATA))
        blobs.put_stream(key, io.BytesIO(DATA), sha(DATA))
        assert blobs.get_bytes(key) == DATA
        assert blobs.list("blobs/sha256/") == [key]

    def test_a_stream_that_does_not_hash_as_told_stores_nothing(self, blobs: BlobStore) -> None:
        key = blob_key(sha(b"what the scan saw"))
        with pytest.raises(SourceChangedError, match=sha(DATA)):
            blobs.put_stream(key, io.BytesIO(DATA), sha(b"what the scan saw"))
        assert not blobs.exists(key)
        assert blobs.list("blobs/sha256/") == []  # no temporary blob left behind either

    def test_list_gives_the_keys_under_a_prefix_sorted(self, blobs: BlobStore) -> None:
        for name in ("b.json", "a.json", "c.json"):
            blobs.put_bytes(f"manifests/{name}", name.encode())
        blobs.put_bytes("other/z.json", b"z")
        assert blobs.list("manifests/") == [
            "manifests/a.json",
            "manifests/b.json",
            "manifests/c.json",
        ]
        assert blobs.list("absent/") == []
