"""``lineage graph verify`` compares every property, not only the structure, and names the
repair that works; following it makes verify pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import REPAIR, verify
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.query import scenario
from tests.services import Neo4jService

runner = CliRunner()
FORGED = "sha256:" + "f" * 64


def env(store: MlmdStore, uri: str) -> dict[str, str]:
    return {
        "LINEAGE_STORE__PATH": store.location,
        "LINEAGE_HOME": str(Path(store.location).parent),
        "LINEAGE_NEO4J__URI": uri,
    }


@pytest.fixture
def synced(store: MlmdStore, graph: Graph) -> scenario.Scenario:
    sc = scenario.build()
    scenario.write(store, sc)
    sync(graph, rows_for(store), store.location, full=True)
    assert verify(graph, rows_for(store)).ok
    return sc


def forge_digest(graph: Graph, node_id: str) -> str:
    """Set a node's digest to another value everywhere Neo4j keeps it: the property, the
    JSON properties and the stored row (so the row check alone cannot see it)."""
    records = graph.run(
        "MATCH (n:Node {id: $id}) WITH n, n.digest AS old "
        "SET n.digest = $forged, n.props = replace(n.props, old, $forged), "
        "n.row = replace(n.row, old, $forged) RETURN old",
        "forging",
        id=node_id,
        forged=FORGED,
    )
    return str(records[0]["old"])


def test_a_forged_digest_fails_verify_and_the_advice_repairs_it(
    store: MlmdStore, graph: Graph, neo4j_service: Neo4jService, synced: scenario.Scenario
) -> None:
    sc = synced
    model = sc.out(sc.r1, "train/model")
    true_digest = forge_digest(graph, model)
    assert LineageService(Neo4jReader(graph)).node(model).properties["digest"] == FORGED

    report = verify(graph, rows_for(store))
    assert not report.ok
    assert report.compared.nodes_changed == [model]
    assert report.rows_wrong == []  # the row was forged with the properties: it agrees
    assert f"node properties differ from the store: {model}" in report.differences()

    result = runner.invoke(app, ["graph", "verify"], env=env(store, neo4j_service.bolt_uri))
    assert result.exit_code == 8
    assert model in result.stderr and f"`{REPAIR}`" in result.stderr

    repaired = runner.invoke(app, REPAIR.split()[1:], env=env(store, neo4j_service.bolt_uri))
    assert repaired.exit_code == 0, repaired.output
    assert verify(graph, rows_for(store)).ok
    served = LineageService(Neo4jReader(graph)).node(model).properties["digest"]
    assert (
        served == true_digest == LineageService(MlmdReader(store)).node(model).properties["digest"]
    )


@pytest.mark.parametrize(
    ("tamper", "finds"),
    [
        # A property added that the sync never writes.
        ("MATCH (n:Node {id: $id}) SET n.approved = true", "nodes_changed"),
        # A label removed: the reach index and readers test labels.
        ("MATCH (n:Node {id: $id}) REMOVE n:Model", "nodes_changed"),
        # A created time moved (as-of answers read it), in the row as well.
        (
            "MATCH (n:Node {id: $id}) SET n.row = replace(n.row, toString(n.created_ms), '1'), "
            "n.created_ms = 1",
            "nodes_changed",
        ),
        # An edge's key (the input or output name) changed.
        ("MATCH (n:Node {id: $id})<-[e:OUTPUT]-() SET e.key = 'other'", "edges_changed"),
        # An edge re-pointed: gone from its true end.
        ("MATCH (n:Node {id: $id})<-[e:OUTPUT]-() DELETE e", "edges_missing"),
        # A node deleted with its edges.
        ("MATCH (n:Node {id: $id}) DETACH DELETE n", "nodes_missing"),
    ],
)
def test_every_change_is_found_and_the_advice_repairs_it(
    store: MlmdStore,
    graph: Graph,
    neo4j_service: Neo4jService,
    synced: scenario.Scenario,
    tamper: str,
    finds: str,
) -> None:
    sc = synced
    model = sc.out(sc.r2, "train/model")
    graph.run(tamper, "tampering", id=model)
    report = verify(graph, rows_for(store))
    assert not report.ok and report.compared.counts[finds] >= 1, report.differences()
    result = runner.invoke(app, ["graph", "verify"], env=env(store, neo4j_service.bolt_uri))
    assert result.exit_code == 8 and f"`{REPAIR}`" in result.stderr
    runner.invoke(app, REPAIR.split()[1:], env=env(store, neo4j_service.bolt_uri))
    assert verify(graph, rows_for(store)).ok


def test_a_parallel_copy_of_an_edge_fails_verify(
    store: MlmdStore, graph: Graph, synced: scenario.Scenario
) -> None:
    sc = synced
    model = sc.out(sc.r1, "train/model")
    graph.run(
        "MATCH (n:Node {id: $id})<-[e:OUTPUT]-(t) CREATE (t)-[:OUTPUT {key: e.key}]->(n)",
        "tampering",
        id=model,
    )
    report = verify(graph, rows_for(store))
    assert not report.ok
    assert report.compared.edges_changed == [("task:r1/train", model, "OUTPUT")]
