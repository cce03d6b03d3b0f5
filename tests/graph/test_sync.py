"""The Neo4j projection against the real Neo4j: full and incremental sync, verify, outages."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import neo4j
import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.errors import ConfigError, UnavailableError
from lineage.graph.connect import Graph
from lineage.graph.sync import read_state, sync
from lineage.graph.verify import verify
from lineage.model import Direction
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import ImpactQuery, LineageQuery
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.conftest import require
from tests.query import scenario
from tests.services import Neo4jService

T = TypeVar("T")


def total_nodes(graph: Graph) -> int:
    return int(graph.run("MATCH (n:Node) RETURN count(n) AS n", "counting")[0]["n"])


def env(store: MlmdStore, uri: str) -> dict[str, str]:
    return {
        "LINEAGE_STORE__PATH": store.location,
        "LINEAGE_HOME": str(Path(store.location).parent),
        "LINEAGE_NEO4J__URI": uri,
    }


def test_incremental_sync_projects_only_what_changed(store: MlmdStore, graph: Graph) -> None:
    sc = scenario.build()
    first, *rest = sc.records
    store.put_run(first)
    # MLMD stamps a run's rows in milliseconds, and a sync re-reads rows stamped at its
    # watermark (>=). A later write moves the watermark past the first run's stamp, so
    # which rows count as changed does not hang on two writes sharing a millisecond.
    time.sleep(0.005)
    store.put_state("test:tick", {"after": first.label})
    initial = sync(graph, rows_for(store), store.location, full=True)
    assert initial.full and initial.nodes == total_nodes(graph)
    for record in rest:
        store.put_run(record)
    later = sync(graph, rows_for(store), store.location, lookback_ms=0)
    assert not later.full
    assert later.since_ms is not None and later.since_ms >= initial.watermark_ms
    # Only rows MLMD updated since: r1's run, pipeline and version contexts are not re-read.
    assert 0 < later.nodes < total_nodes(graph)
    assert verify(graph, rows_for(store)).ok
    state = read_state(graph)
    assert state is not None and state["watermark_ms"] == later.watermark_ms


def test_sync_twice_changes_nothing(store: MlmdStore, graph: Graph) -> None:
    scenario.write(store, scenario.build())
    sync(graph, rows_for(store), store.location, full=True)
    before = verify(graph, rows_for(store))
    sync(graph, rows_for(store), store.location)
    after = verify(graph, rows_for(store))
    assert before.ok and after.ok
    assert (before.nodes, before.edges) == (after.nodes, after.edges)


def test_verify_finds_a_graph_behind_or_tampered_and_the_cli_exits_non_zero(
    store: MlmdStore, graph: Graph, neo4j_service: Neo4jService
) -> None:
    sc = scenario.build()
    first, *rest = sc.records
    store.put_run(first)
    sync(graph, rows_for(store), store.location, full=True)
    runner = CliRunner()
    clean = runner.invoke(app, ["graph", "verify"], env=env(store, neo4j_service.bolt_uri))
    assert clean.exit_code == 0, clean.output

    graph.run("MATCH ()-[e:USES_IMAGE]->() DELETE e", "tampering")
    tampered = verify(graph, rows_for(store))
    assert not tampered.ok
    assert tampered.edges["USES_IMAGE"][1] == 0 < tampered.edges["USES_IMAGE"][0]
    result = runner.invoke(app, ["graph", "verify"], env=env(store, neo4j_service.bolt_uri))
    assert result.exit_code == 8
    assert "USES_IMAGE" in result.stderr

    for record in rest:  # the store moves on; Neo4j is now behind as well
        store.put_run(record)
    synced = runner.invoke(app, ["graph", "sync", "--full"], env=env(store, neo4j_service.bolt_uri))
    assert synced.exit_code == 0, synced.output
    assert verify(graph, rows_for(store)).ok


def test_a_projection_of_another_store_is_not_silently_mixed(
    store: MlmdStore, graph: Graph
) -> None:
    scenario.write(store, scenario.build())
    sync(graph, rows_for(store), store.location, full=True)
    with pytest.raises(ConfigError, match="--full"):
        sync(graph, rows_for(store), "/elsewhere/mlmd.sqlite")


class StopsMidway(Graph):
    """A Graph whose Neo4j is stopped after ``after`` batches: a sync cut short by an outage."""

    def __init__(self, service: Neo4jService, after: int) -> None:
        super().__init__(service.bolt_uri)
        self.service = service
        self.left = after

    def write(self, work: Callable[[neo4j.ManagedTransaction], T], doing: str) -> T:
        if self.left == 0:
            self.service.stop()
        self.left -= 1
        return super().write(work, doing)


def test_neo4j_down_between_and_during_syncs_loses_nothing(
    store: MlmdStore, graph: Graph, neo4j_service: Neo4jService
) -> None:
    sc = scenario.build()
    first, *rest = sc.records
    store.put_run(first)
    sync(graph, rows_for(store), store.location, full=True)
    model = sc.out(sc.r1, "train/model")
    runner = CliRunner()
    try:
        neo4j_service.stop()
        with pytest.raises(UnavailableError, match="unavailable"):
            LineageService(Neo4jReader(graph)).lineage(LineageQuery(model))
        # The MLMD reader does not need Neo4j, and ingest never waits for it.
        assert LineageService(MlmdReader(store)).lineage(LineageQuery(model)).nodes
        for record in rest:
            store.put_run(record)
        fallback = runner.invoke(
            app, ["lineage", model, "--json"], env=env(store, neo4j_service.bolt_uri)
        )
        assert fallback.exit_code == 0, fallback.output
        assert "answering from MLMD" in fallback.stderr
        assert '"backend": "mlmd"' in fallback.stdout
        strict = runner.invoke(
            app, ["lineage", model, "--backend", "neo4j"], env=env(store, neo4j_service.bolt_uri)
        )
        assert strict.exit_code == UnavailableError.exit_code
        down = runner.invoke(app, ["graph", "sync"], env=env(store, neo4j_service.bolt_uri))
        assert down.exit_code == UnavailableError.exit_code

        # Back up, then down again half-way through the catch-up sync.
        require("neo4j", neo4j_service)
        with pytest.raises(UnavailableError):
            sync(StopsMidway(neo4j_service, after=2), rows_for(store), store.location, page=3)
    finally:
        require("neo4j", neo4j_service)
    report = sync(graph, rows_for(store), store.location)
    assert not report.full  # the watermark of the last completed sync still holds
    checked = verify(graph, rows_for(store))
    assert checked.ok, checked.differences()
    neo, mlmd = LineageService(Neo4jReader(graph)), LineageService(MlmdReader(store))
    for query in (LineageQuery(sc.raw.id, Direction.DOWNSTREAM, depth=50), LineageQuery(model)):
        assert neo.lineage(query) == mlmd.lineage(query)
    impact: dict[str, Any] = {"artifact": sc.raw.id}
    assert neo.impact(ImpactQuery(**impact)) == mlmd.impact(ImpactQuery(**impact))
