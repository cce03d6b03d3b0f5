"""Stores and the real Neo4j for the projection tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.graph.connect import Graph
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.services import Neo4jService


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MlmdStore]:
    opened = open_sqlite(tmp_path / "mlmd.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def graph(neo4j_service: Neo4jService) -> Iterator[Graph]:
    connected = Graph(neo4j_service.bolt_uri)
    yield connected
    connected.close()
