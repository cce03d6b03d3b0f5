"""The level index (lineage.graph.level_index) against the real Neo4j: which nodes are keyed,
when, and that a cut level read from it answers exactly as the MLMD walk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import neo4j
import pytest

from lineage.graph import level_index
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.model import (
    DATA_FLOW,
    Artifact,
    Direction,
    EdgeKind,
    ExecutionState,
    KfpType,
    LineageEdge,
    RunRecord,
)
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j import reader as reader_module
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import LineageQuery
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.contracts.live_reader import LiveNeo4jReader
from tests.kit.records import Run, dataset, image

DENSE = 4
HUB = dataset("gs://data/hub.csv", name="hub")
IMAGE = image("registry.local/train", "v1")
LEVEL_INDEX = "expanding a lineage level (level index)"


@pytest.fixture(autouse=True)
def dense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(level_index, "DENSE", DENSE)


@pytest.fixture
def calls(graph: Graph) -> Iterator[list[tuple[str, int]]]:
    """Each query the graph runs: what it was doing, and how many records came back."""
    seen: list[tuple[str, int]] = []
    run: Callable[..., Any] = graph.run

    def counted(text: str, doing: str, **params: Any) -> Any:
        records = run(text, doing, **params)
        seen.append((doing, len(records)))
        return records

    graph.run = counted  # type: ignore[method-assign]
    yield seen
    graph.run = run  # type: ignore[method-assign]


def consumers(first: int, count: int, inputs: dict[str, Artifact] | None = None) -> list[RunRecord]:
    """Runs each with one task reading the hub (built with IMAGE) and writing a model."""
    records = []
    for i in range(first, first + count):
        run = Run(f"r{i:02d}")
        run.task(
            "train",
            inputs=inputs or {"data": HUB},
            outputs={"model": KfpType.MODEL},
            image=IMAGE,
        )
        records.append(run.record())
    return records


def marks(graph: Graph, node_id: str) -> dict[str, Any]:
    records = graph.run(
        "MATCH (n:Node {id: $id}) RETURN n:LevelOut AS out, n:LevelIn AS in, "
        "n.lvl_out_par AS out_par, n.lvl_in_par AS in_par",
        "reading marks",
        id=node_id,
    )
    return dict(records[0])


def unkeyed_out(graph: Graph, node_id: str) -> tuple[int, int]:
    """(edges out of the node, those whose keys are missing or wrong)."""
    records = graph.run(
        f"MATCH (n:Node {{id: $id}})-[r:{level_index.ALL}]->(m) RETURN count(r) AS all, "
        "count(CASE WHEN r.ls IS NULL OR r.ls <> n.id OR r.lt <> m.id THEN 1 END) AS bad",
        "reading keys",
        id=node_id,
    )
    return int(records[0]["all"]), int(records[0]["bad"])


def answers_alike(store: MlmdStore, graph: Graph, query: LineageQuery) -> None:
    expected = LineageService(MlmdReader(store)).lineage(query)
    assert LineageService(LiveNeo4jReader(graph)).lineage(query) == expected
    assert LineageService(Neo4jReader(graph)).lineage(query) == expected


def test_a_hub_is_keyed_in_the_sync_that_makes_it_dense_and_its_cut_reads_the_index(
    store: MlmdStore, graph: Graph, calls: list[tuple[str, int]]
) -> None:
    for record in consumers(0, DENSE - 1):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    assert marks(graph, HUB.id)["out"] is False  # below the threshold: not keyed
    for record in consumers(DENSE - 1, 5):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, lookback_ms=0)
    assert marks(graph, HUB.id) == {"out": True, "in": False, "out_par": None, "in_par": None}
    assert marks(graph, IMAGE.id)["out"] is True
    # The edges written before the hub crossed the threshold are keyed as well.
    assert unkeyed_out(graph, HUB.id) == (DENSE + 4, 0)
    assert verify(graph, rows_for(store)).ok
    calls.clear()
    for limit in (1, 3, DENSE + 3, 30):
        query = LineageQuery(start=HUB.id, direction=Direction.DOWNSTREAM, depth=3, limit=limit)
        answers_alike(store, graph, query)
    assert (LEVEL_INDEX, 1) in calls  # the live walks' first levels were read from the index


def test_a_cut_with_held_far_nodes_counts_what_it_left_out_as_the_store_does(
    store: MlmdStore, graph: Graph, calls: list[tuple[str, int]]
) -> None:
    for record in consumers(0, 8):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    whole = MlmdReader(store).expand([HUB.id], Direction.DOWNSTREAM, DATA_FLOW)
    tasks = sorted(e.target for e in whole.edges)
    held = [HUB.id, tasks[1], tasks[4]]
    calls.clear()
    cut = Neo4jReader(graph).expand_capped(
        [HUB.id], Direction.DOWNSTREAM, DATA_FLOW, None, held, take=2
    )
    assert calls == [(LEVEL_INDEX, 1)]
    assert cut is not None
    first_new = [t for t in tasks if t not in held][:2]
    assert sorted(cut.expansion.nodes) == first_new
    assert sorted(e.target for e in cut.expansion.edges) == sorted([tasks[1], tasks[4], *first_new])
    assert cut.more_nodes == len(tasks) - 2 - 2
    assert cut.more_edges == len(tasks) - 4


def test_a_task_with_many_inputs_is_keyed_upstream(
    store: MlmdStore, graph: Graph, calls: list[tuple[str, int]]
) -> None:
    sources = {f"in{i}": dataset(f"gs://data/part-{i}.csv") for i in range(DENSE + 2)}
    run = Run("merge")
    task = run.task("merge", inputs=sources, outputs={"model": KfpType.MODEL})
    store.put_run(run.record())
    sync(graph, rows_for(store), store.location, full=True)
    assert marks(graph, task)["in"] is True
    calls.clear()
    for limit in (2, 5, 20):
        query = LineageQuery(start=task, direction=Direction.UPSTREAM, depth=2, limit=limit)
        answers_alike(store, graph, query)
    assert (LEVEL_INDEX, 1) in calls


def test_parallel_edges_from_a_hub_mark_it_and_its_cut_sorts_the_level(
    store: MlmdStore, graph: Graph, calls: list[tuple[str, int]]
) -> None:
    """MLMD keeps one event per execution, artifact and direction, so two edges between
    the same two nodes come only from two kinds; the index must not count far nodes
    by edges there. The second edge is written as a sync batch writes edges."""
    for record in consumers(0, DENSE + 2):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    assert marks(graph, HUB.id)["out_par"] is None
    reader = Neo4jReader(graph)
    whole = reader.expand([HUB.id], Direction.DOWNSTREAM, DATA_FLOW)
    tasks = sorted(e.target for e in whole.edges)
    extra = LineageEdge(HUB.id, tasks[0], EdgeKind.CACHED_FROM)

    marked = level_index.load(graph)

    def write(tx: neo4j.ManagedTransaction) -> None:
        tx.run(
            "MATCH (a:Node {id: $s}), (b:Node {id: $t}) CREATE (a)-[:CACHED_FROM]->(b)",
            s=extra.source,
            t=extra.target,
        ).consume()
        level_index.update(tx, [extra], marked)

    graph.write(write, "writing a parallel edge")
    assert marks(graph, HUB.id)["out_par"] is True
    assert unkeyed_out(graph, HUB.id) == (DENSE + 3, 0)
    calls.clear()
    cut = reader.expand_capped([HUB.id], Direction.DOWNSTREAM, DATA_FLOW, None, [HUB.id], take=2)
    # The index answered nothing; the sorting query counted far nodes, not edges.
    assert [c[0] for c in calls] == [LEVEL_INDEX, "expanding a lineage level (cut)"]
    assert calls[0][1] == 0
    assert cut is not None
    assert sorted(cut.expansion.nodes) == tasks[:2]
    assert len(cut.expansion.edges) == 3  # both edges to tasks[0], one to tasks[1]
    assert cut.more_nodes == len(tasks) - 2
    assert cut.more_edges == len(tasks) + 1 - 3


def test_a_projection_synced_before_the_index_is_keyed_by_its_next_sync(
    store: MlmdStore, graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    for record in consumers(0, 6):
        store.put_run(record)
    monkeypatch.setattr(level_index, "DENSE", 1_000)
    sync(graph, rows_for(store), store.location, full=True)
    graph.run("MATCH (s:SyncState) REMOVE s.levels", "forgetting the level index")
    assert marks(graph, HUB.id)["out"] is False
    monkeypatch.setattr(level_index, "DENSE", DENSE)
    report = sync(graph, rows_for(store), store.location, lookback_ms=0)
    assert not report.full  # keyed in place, not rebuilt
    assert marks(graph, HUB.id)["out"] is True and marks(graph, IMAGE.id)["out"] is True
    assert unkeyed_out(graph, HUB.id) == (6, 0)
    state = graph.run("MATCH (s:SyncState) RETURN s.levels AS v", "reading the state")
    assert state[0]["v"] == level_index.VERSION
    query = LineageQuery(start=HUB.id, direction=Direction.DOWNSTREAM, depth=2, limit=3)
    answers_alike(store, graph, query)


def test_verify_names_a_keyed_node_whose_edge_lost_its_keys(store: MlmdStore, graph: Graph) -> None:
    for record in consumers(0, DENSE + 1):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    assert verify(graph, rows_for(store)).levels_wrong == []
    graph.run(
        "MATCH (:Node {id: $id})-[r:INPUT]->() WITH r LIMIT 1 REMOVE r.lt",
        "tampering",
        id=HUB.id,
    )
    report = verify(graph, rows_for(store))
    assert not report.ok
    assert report.levels_wrong == [HUB.id]
    assert f"level index keys wrong on the edges of {HUB.id}" in report.differences()


def test_a_keyed_level_of_two_edge_kinds_is_merged_in_id_order(
    store: MlmdStore, graph: Graph, calls: list[tuple[str, int]]
) -> None:
    """A task's outputs (OUTPUT) and the cache hits that reused them (CACHED_FROM) are
    one level of two kinds: each kind's list comes in id order, and the cut merges them."""
    first = Run("r00")
    original = first.task("train", inputs={"data": HUB}, outputs={"a": KfpType.DATASET})
    outputs = {"a": first.outputs["train/a"]}
    store.put_run(first.record())
    for i in range(1, DENSE + 1):
        hit = Run(f"r{i:02d}")
        hit.task(
            "train",
            inputs={"data": HUB},
            state=ExecutionState.CACHED,
            cached_from=original,
            reuse=outputs,
        )
        store.put_run(hit.record())
    sync(graph, rows_for(store), store.location, full=True)
    assert marks(graph, original)["out"] is True
    whole = MlmdReader(store).expand([original], Direction.DOWNSTREAM, DATA_FLOW)
    assert {e.kind for e in whole.edges} == {EdgeKind.OUTPUT, EdgeKind.CACHED_FROM}
    calls.clear()
    for limit in (1, 2, 3, DENSE, 20):
        query = LineageQuery(start=original, direction=Direction.DOWNSTREAM, depth=1, limit=limit)
        answers_alike(store, graph, query)
    assert (LEVEL_INDEX, 1) in calls


def test_a_start_too_wide_to_copy_is_read_once_and_walked_alike(
    store: MlmdStore,
    graph: Graph,
    calls: list[tuple[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The neighbourhood copy gives up on a start with more edges than its cap at once
    (its degree says so) and hands back the start's row, so the walk does not ask again."""
    monkeypatch.setattr(reader_module, "PREFETCH_MIN", DENSE)
    monkeypatch.setattr(reader_module, "PREFETCH_MAX", DENSE)
    for record in consumers(0, DENSE + 3):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    calls.clear()
    query = LineageQuery(start=HUB.id, direction=Direction.DOWNSTREAM, depth=3, limit=5)
    answer = LineageService(Neo4jReader(graph)).lineage(query)
    assert answer == LineageService(MlmdReader(store)).lineage(query)
    doing = [c[0] for c in calls]
    assert doing[0] == "fetching a lineage neighbourhood" and calls[0][1] == 1
    assert "reading nodes" not in doing  # the start came with the copy's answer
    assert (LEVEL_INDEX, 1) in calls
