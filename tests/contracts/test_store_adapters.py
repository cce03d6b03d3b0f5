"""The MetadataStore contract on every backend this machine can run, and on every
wrapper of a store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.ingest.artifact_digest import ArtifactDigester
from lineage.ingest.digesting_store import DigestingStore
from lineage.model import RunRecord
from lineage.store.connect import open_grpc, open_mysql, open_sqlite
from lineage.store.port import MetadataStore
from tests.contracts.store import StoreContract
from tests.services.mlmd_grpc import MlmdGrpcServer


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        store = open_sqlite(tmp_path / "home" / "mlmd.sqlite")
        yield store
        store.close()


@pytest.mark.services
class TestMariaDbStore(StoreContract):
    @pytest.fixture
    def store(self, mysql_url: str) -> Iterator[MetadataStore]:
        store = open_mysql(mysql_url)
        yield store
        store.close()


class TestGrpcStore(StoreContract):
    """The gRPC backend against a real MLMD service on loopback (tests/services/mlmd_grpc.py)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        server = MlmdGrpcServer(tmp_path / "served.sqlite")
        store = open_grpc(server.start(), timeout_s=10)
        yield store
        store.close()
        server.stop()


class TestDigestingStore(StoreContract):
    """The wrapper every ingest writes through: a store in every other respect."""

    def written(self, record: RunRecord) -> RunRecord:
        # Not asked to read the data, it records why each artifact has no digest.
        return ArtifactDigester().prepare(record, {})

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        store = DigestingStore(open_sqlite(tmp_path / "home" / "mlmd.sqlite"), ArtifactDigester())
        yield store
        store.close()
