"""The MetadataStore contract on every backend this machine can run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.store.connect import open_grpc, open_mysql, open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.mlmd_grpc import MlmdGrpcServer
from tests.contracts.store import StoreContract


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MlmdStore]:
        store = open_sqlite(tmp_path / "home" / "mlmd.sqlite")
        yield store
        store.close()


@pytest.mark.services
class TestMariaDbStore(StoreContract):
    @pytest.fixture
    def store(self, mysql_url: str) -> Iterator[MlmdStore]:
        store = open_mysql(mysql_url)
        yield store
        store.close()


class TestGrpcStore(StoreContract):
    """The gRPC backend against a real MLMD service on loopback (see tests/mlmd_grpc.py)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MlmdStore]:
        server = MlmdGrpcServer(tmp_path / "served.sqlite")
        store = open_grpc(server.start(), timeout_s=10)
        yield store
        store.close()
        server.stop()
