"""What the reader contract reads: the scenario's runs recorded once per module in MLMD
on SQLite, and projected into the real Neo4j for the readers that answer from it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.store.connect import open_sqlite
from lineage.store.rows import rows_for
from tests.conftest import require
from tests.contracts.reader import Recorded
from tests.kit.records import record_node_ids
from tests.query import scenario
from tests.services import Neo4jService


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    store = open_sqlite(Path(tmp_path_factory.mktemp("contract")) / "mlmd.sqlite")
    sc = scenario.build()
    first, *rest = sc.records
    store.put_run(first)
    ids_of_r1 = record_node_ids(first)
    r1_ms = max(stamp.created_ms for stamp in store.stamps(ids_of_r1).values())
    # MLMD stamps in milliseconds: let the clock move so as-of can tell r1 from the rest.
    while int(time.time() * 1000) <= r1_ms + 2:
        time.sleep(0.002)
    for record in rest:
        store.put_run(record)
    yield Recorded(store, sc, r1_ms)
    store.close()


@pytest.fixture(scope="module")
def synced(recorded: Recorded, neo4j_service: Neo4jService) -> Iterator[Graph]:
    """The recorded runs projected into the real Neo4j, once for the module."""
    require("neo4j", neo4j_service)
    graph = Graph(neo4j_service.bolt_uri)
    sync(graph, rows_for(recorded.store), recorded.store.location, full=True)
    yield graph
    graph.close()
