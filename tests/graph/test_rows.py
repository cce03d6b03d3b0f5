"""Node rows stored at sync (lineage.graph.rows): what readers fetch is what the node holds."""

from __future__ import annotations

import time

from lineage.graph import rows
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.model import Direction, ExecutionState, KfpType, RunRecord
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import LineageQuery
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.kit.records import Run, dataset
from tests.query import scenario


def node_ids(graph: Graph) -> list[str]:
    records = graph.run("MATCH (n:Node) RETURN collect(n.id) AS ids", "listing nodes")
    return sorted(records[0]["ids"])


def test_every_synced_node_stores_the_row_its_properties_make(
    store: MlmdStore, graph: Graph
) -> None:
    scenario.write(store, scenario.build())
    sync(graph, rows_for(store), store.location, full=True)
    records = graph.run(
        "MATCH (n:Node) RETURN count(n) AS all, "
        f"count(CASE WHEN n.row IS NULL OR n.row <> {rows.built_text('n')} THEN 1 END) AS off",
        "comparing rows",
    )
    assert records[0]["all"] > 20 and records[0]["off"] == 0
    ids = node_ids(graph)
    assert Neo4jReader(graph).nodes(ids) == MlmdReader(store).nodes(ids)


def test_a_state_change_reaches_the_stored_row(store: MlmdStore, graph: Graph) -> None:
    def record(state: ExecutionState) -> tuple[str, RunRecord]:
        run = Run("r-state")
        task = run.task(
            "train",
            inputs={"data": dataset("gs://data/x.csv")},
            outputs={"m": KfpType.MODEL},
            state=state,
        )
        return task, run.record()

    task, running = record(ExecutionState.RUNNING)
    store.put_run(running)
    sync(graph, rows_for(store), store.location, full=True)
    assert Neo4jReader(graph).nodes([task])[task].state == ExecutionState.RUNNING.value
    time.sleep(0.005)
    _, done = record(ExecutionState.COMPLETE)
    store.put_run(done)
    sync(graph, rows_for(store), store.location)
    read = Neo4jReader(graph).nodes([task])[task]
    assert read.state == ExecutionState.COMPLETE.value
    assert read == MlmdReader(store).nodes([task])[task]


def test_a_projection_without_rows_reads_exactly_and_its_next_sync_stores_them(
    store: MlmdStore, graph: Graph
) -> None:
    scenario.write(store, scenario.build())
    sync(graph, rows_for(store), store.location, full=True)
    graph.run("MATCH (n:Node) REMOVE n.row", "forgetting rows")
    graph.run("MATCH (s:SyncState) REMOVE s.rows", "forgetting rows")
    ids = node_ids(graph)
    mlmd = MlmdReader(store)
    # Rows that do not parse send every reader down its exact path.
    assert Neo4jReader(graph).nodes(ids) == mlmd.nodes(ids)
    query = LineageQuery(start=ids[0], direction=Direction.DOWNSTREAM, depth=5, limit=50)
    assert LineageService(Neo4jReader(graph)).lineage(query) == LineageService(mlmd).lineage(query)
    report = sync(graph, rows_for(store), store.location, lookback_ms=0)
    assert not report.full
    missing = graph.run("MATCH (n:Node) WHERE n.row IS NULL RETURN count(n) AS n", "counting")
    assert missing[0]["n"] == 0
    assert Neo4jReader(graph).nodes(ids) == mlmd.nodes(ids)


def test_verify_names_a_node_whose_stored_row_differs(store: MlmdStore, graph: Graph) -> None:
    scenario.write(store, scenario.build())
    sync(graph, rows_for(store), store.location, full=True)
    assert verify(graph, rows_for(store)).rows_wrong == []
    victim = node_ids(graph)[3]
    graph.run(
        "MATCH (n:Node {id: $id}) SET n.row = replace(n.row, n.id, n.id + '-edited')",
        "tampering",
        id=victim,
    )
    report = verify(graph, rows_for(store))
    assert not report.ok and report.rows_wrong == [victim]
