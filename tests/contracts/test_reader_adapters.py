"""The LineageReader contract on every reader and every reader wrapper."""

from __future__ import annotations

import pytest

from lineage.graph.connect import Graph
from lineage.query.port import LineageReader
from lineage.query.readers.auto import AutoReader
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.services.scope import ScopedReader, Visibility
from tests.contracts.live_reader import LiveNeo4jReader
from tests.contracts.reader import ReaderContract, Recorded


class TestMlmdReader(ReaderContract):
    @pytest.fixture
    def reader(self, recorded: Recorded) -> LineageReader:
        return MlmdReader(recorded.store)


class TestNeo4jReader(ReaderContract):
    """Both paths of the Neo4j reader: a walk over the neighbourhood fetched ahead, and
    the walk level by level that serves walks past the copy's cap."""

    @pytest.fixture(params=[Neo4jReader, LiveNeo4jReader], ids=["prefetched", "level_by_level"])
    def reader(self, synced: Graph, request: pytest.FixtureRequest) -> LineageReader:
        kind: type[Neo4jReader] = request.param
        return kind(synced)


class TestAutoReader(ReaderContract):
    """The server's reader: with the projection current it answers from Neo4j, and it
    must answer exactly as the readers it chooses between."""

    @pytest.fixture(params=["per_call", "pinned"])
    def reader(
        self, recorded: Recorded, synced: Graph, request: pytest.FixtureRequest
    ) -> LineageReader:
        notices: list[str] = []
        auto = AutoReader(synced, recorded.store, notices.append)
        # Outside a request it chooses on every call; a request's reader chooses once.
        return auto if request.param == "per_call" else auto.pinned()


class SeesEverything:
    """A principal of every namespace (an admin token)."""

    def sees_namespace(self, namespace: str) -> bool:
        return True


class TestScopedReader(ReaderContract):
    """Scoping hides nodes and never adds any: for a principal who sees every namespace,
    the scoped reader answers as the reader it wraps, over either backend."""

    @pytest.fixture(params=["mlmd", "neo4j"])
    def reader(self, recorded: Recorded, request: pytest.FixtureRequest) -> LineageReader:
        inner: LineageReader
        if request.param == "mlmd":
            inner = MlmdReader(recorded.store)
        else:
            inner = Neo4jReader(request.getfixturevalue("synced"))
        return ScopedReader(inner, Visibility(inner, SeesEverything(), "default"))
