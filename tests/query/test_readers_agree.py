"""Property: on any KFP-shaped store, the MLMD reader and the Neo4j reader answer alike.

Hypothesis draws random runs (tasks reading a hub dataset, earlier runs' outputs
and their own run's outputs; images; cache hits re-using an earlier task's
outputs; nested DAGs; snapshots), writes them to MLMD, projects them into the
real Neo4j, and asks both readers the same random questions. Answers are
compared whole: sorted nodes and edges, truncation flags and counts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.errors import LineageError
from lineage.graph import level_index
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.model import (
    ALL_EDGES,
    DATA_FLOW,
    Artifact,
    Direction,
    ExecutionState,
    KfpType,
    NodeKind,
    RunRecord,
)
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import ImpactQuery, LineageQuery
from lineage.store.connect import open_sqlite
from lineage.store.rows import rows_for
from tests.conftest import require
from tests.contracts.live_reader import LiveNeo4jReader
from tests.kit.records import Run, dataset, image, record_node_ids, snapshot_record
from tests.services import Neo4jService

OUTPUT_TYPES = [KfpType.DATASET, KfpType.MODEL, KfpType.METRICS]


@pytest.fixture(autouse=True)
def keyed_hubs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key nodes from three edges, so random stores have hubs whose cut levels read the
    level index (lineage.graph.level_index) as well as levels the sorting query cuts."""
    monkeypatch.setattr(level_index, "DENSE", 3)


@pytest.fixture(scope="module")
def graph(neo4j_service: Neo4jService) -> Iterator[Graph]:
    require("neo4j", neo4j_service)
    connected = Graph(neo4j_service.bolt_uri)
    yield connected
    connected.close()


@st.composite
def kfp_stores(draw: st.DrawFn) -> tuple[list[RunRecord], list[str]]:
    """Random runs as records, and every node id they hold."""
    hub = dataset("gs://data/hub.csv", name="hub")
    images = [image(f"registry.local/img{i}", f"t{i}") for i in range(3)]
    pool: list[Artifact] = [hub]
    finished: list[tuple[str, dict[str, Artifact]]] = []  # (task id, its outputs)
    records: list[RunRecord] = []
    for r in range(draw(st.integers(1, 4))):
        run = Run(
            f"r{r}",
            pipeline_name=draw(st.sampled_from(["train", "score"])),
            spec={"v": draw(st.integers(0, 2))},
            state=draw(st.sampled_from(["SUCCEEDED", "FAILED"])),
        )
        dag = run.dag("loop") if draw(st.booleans()) else None
        local: list[Artifact] = []
        for t in range(draw(st.integers(1, 4))):
            choices = pool + local
            inputs = draw(st.lists(st.sampled_from(choices), max_size=3, unique_by=lambda a: a.id))
            used = draw(st.one_of(st.none(), st.sampled_from(images)))
            parent = dag if dag is not None and draw(st.booleans()) else None
            path = f"loop/t{t}" if parent else f"t{t}"
            params = {"p": draw(st.integers(0, 3))}
            if finished and draw(st.integers(0, 4)) == 0:
                original, outputs = draw(st.sampled_from(finished))
                run.task(
                    path,
                    inputs={f"in{i}": a for i, a in enumerate(inputs)},
                    params=params,
                    image=used,
                    parent=parent,
                    state=ExecutionState.CACHED,
                    cached_from=original,
                    reuse=outputs,
                )
                local.extend(outputs.values())
                continue
            kinds = draw(st.lists(st.sampled_from(OUTPUT_TYPES), min_size=1, max_size=2))
            tid = run.task(
                path,
                inputs={f"in{i}": a for i, a in enumerate(inputs)},
                outputs={f"out{i}": k for i, k in enumerate(kinds)},
                params=params,
                image=used,
                parent=parent,
            )
            outs = {f"out{i}": run.outputs[f"{path}/out{i}"] for i in range(len(kinds))}
            finished.append((tid, outs))
            local.extend(outs.values())
        records.append(run.record())
        pool.extend(local)
    for art in draw(st.lists(st.sampled_from(pool), max_size=2, unique_by=lambda a: a.id)):
        record, _ = snapshot_record(art, f"snap-of-{art.id}")
        records.append(record)
    node_ids = sorted({i for rec in records for i in record_node_ids(rec)})
    return records, [i for i in node_ids if not i.startswith("snapshotting:")]


def queries(node_ids: list[str]) -> st.SearchStrategy[LineageQuery]:
    kinds = st.one_of(st.none(), st.frozensets(st.sampled_from(list(NodeKind)), min_size=1))
    return st.builds(
        LineageQuery,
        start=st.sampled_from(node_ids),
        direction=st.sampled_from(list(Direction)),
        depth=st.integers(0, 7),
        kinds=kinds,
        stop_at=st.frozensets(st.sampled_from(list(NodeKind)), max_size=2),
        limit=st.integers(1, 40),
        edge_kinds=st.sampled_from([DATA_FLOW, ALL_EDGES]),
    )


def outcome(call: object) -> object:
    """An answer, or the class of the expected error: both readers must fail alike."""
    try:
        return call()  # type: ignore[operator]
    except LineageError as exc:
        return type(exc).__name__


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=kfp_stores(), data=st.data())
def test_both_readers_answer_every_question_alike(
    graph: Graph, drawn: tuple[list[RunRecord], list[str]], data: st.DataObject
) -> None:
    records, node_ids = drawn
    with tempfile.TemporaryDirectory() as home:
        store = open_sqlite(Path(home) / "mlmd.sqlite")
        try:
            for record in records:
                store.put_run(record)
            rows = rows_for(store)
            sync(graph, rows, store.location, full=True)
            assert verify(graph, rows_for(store), sample=50).ok
            mlmd = LineageService(MlmdReader(store))
            neo = LineageService(Neo4jReader(graph))
            live = LineageService(LiveNeo4jReader(graph))
            for query in data.draw(st.lists(queries(node_ids), min_size=4, max_size=8)):
                expected = outcome(lambda q=query: mlmd.lineage(q))
                assert outcome(lambda q=query: neo.lineage(q)) == expected, query
                assert outcome(lambda q=query: live.lineage(q)) == expected, query
            artifacts = [i for i in node_ids if i.startswith("artifact:")]
            start = data.draw(st.sampled_from(artifacts))
            first = data.draw(st.integers(1, 5))
            impact = ImpactQuery(artifact=start, first=first)
            assert neo.impact(impact) == mlmd.impact(impact)
            image_query = ImpactQuery(image="image:registry.local/img", first=first)
            assert outcome(lambda: neo.impact(image_query)) == outcome(
                lambda: mlmd.impact(image_query)
            )
            a, b = data.draw(st.sampled_from(node_ids)), data.draw(st.sampled_from(node_ids))
            assert outcome(lambda: neo.path(a, b)) == outcome(lambda: mlmd.path(a, b))
            models = sorted(i for i in artifacts if mlmd.node(i).type == KfpType.MODEL)
            if len(models) >= 2:
                x, y = data.draw(st.sampled_from(models)), data.draw(st.sampled_from(models))
                assert neo.diff(x, y) == mlmd.diff(x, y)
        finally:
            store.close()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=kfp_stores(), data=st.data())
def test_the_reach_index_grown_run_by_run_answers_impact_as_the_walk(
    graph: Graph, drawn: tuple[list[RunRecord], list[str]], data: st.DataObject
) -> None:
    """The reach index (lineage.graph.reach_index) is kept by incremental syncs, one run at a
    time here, so later runs link into what earlier syncs projected (an old model read
    by a new run, a cache hit on an old task). Impact from every artifact and image, over
    the index, must equal the MLMD walk, and verify's own index check must pass."""
    records, node_ids = drawn
    with tempfile.TemporaryDirectory() as home:
        store = open_sqlite(Path(home) / "mlmd.sqlite")
        try:
            sync(graph, rows_for(store), store.location, full=True)
            for record in records:
                store.put_run(record)
                report = sync(graph, rows_for(store), store.location, lookback_ms=0)
                assert not report.full
            report_ok = verify(graph, rows_for(store), sample=50, index_sample=1000)
            assert report_ok.ok, report_ok.differences()
            neo_reader, mlmd_reader = Neo4jReader(graph), MlmdReader(store)
            starts = [i for i in node_ids if i.startswith(("artifact:", "image:"))]
            for start in starts:
                assert neo_reader.reach([start], None, 10_000) == mlmd_reader.reach(
                    [start], None, 10_000
                ), start
            neo, mlmd = LineageService(neo_reader), LineageService(mlmd_reader)
            artifacts = [i for i in starts if i.startswith("artifact:")]
            start = data.draw(st.sampled_from(artifacts))
            impact = ImpactQuery(artifact=start, first=data.draw(st.integers(1, 3)))
            assert neo.impact(impact) == mlmd.impact(impact)
            # The model total alone (GraphQL totalCount without totalRuns): same page,
            # same model total; the Neo4j reader may leave the run total uncounted.
            models_only = ImpactQuery(artifact=start, first=impact.first, count_runs=False)
            a, b = neo.impact(models_only), mlmd.impact(models_only)
            assert (a.models, a.runs, a.total_models, a.cursor, a.counted) == (
                b.models,
                b.runs,
                b.total_models,
                b.cursor,
                b.counted,
            )
        finally:
            store.close()
