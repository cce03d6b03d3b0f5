"""`lineage graph sync --full --offline HOME`: the projection built by neo4j-admin's bulk
import and swapped in by the launcher equals the one an online full sync writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage import model
from lineage.cli.main import app
from lineage.graph import level_index
from lineage.graph.connect import Graph
from lineage.graph.sync import read_state, sync
from lineage.graph.verify import verify
from lineage.model import KfpType, RunRecord
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.kit.records import Run, dataset, image
from tests.services import Neo4jService

HUB = dataset("gs://data/hub.csv", name="hub")
IMAGE = image("registry.local/train", "v1")


@pytest.fixture(scope="module")
def server() -> Iterator[Neo4jService]:
    # Its own server: the offline sync replaces its database files.
    with Neo4jService() as service:
        yield service


@pytest.fixture
def graph(server: Neo4jService) -> Iterator[Graph]:
    connected = Graph(server.bolt_uri)
    yield connected
    connected.close()


@pytest.fixture(autouse=True)
def dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # The hub and the image are dense: the level index keys their edges.
    monkeypatch.setattr(level_index, "DENSE", 20)


def runs(count: int) -> list[RunRecord]:
    """Runs reading a hub, writing a model; every other run a cache hit of the last
    one's prep (CACHED_FROM), with a DAG task (PARENT_DAG), and a quote in a name."""
    records = []
    previous: Run | None = None
    for i in range(count):
        run = Run(f"r{i:04d}")
        run.task("ingest", inputs={"data": HUB}, outputs={"raw": KfpType.DATASET}, image=IMAGE)
        inner = run.dag("inner")
        if previous is not None and i % 2:
            run.task(
                "inner/prep",
                parent=inner,
                cached_from=model.task_id(previous.run, "inner/prep"),
                reuse={"clean": previous.outputs["inner/prep/clean"]},
            )
        else:
            run.task(
                "inner/prep",
                parent=inner,
                inputs={"raw": run.outputs["ingest/raw"]},
                outputs={'clean, "quoted"': "x"},
            )
            run.outputs["inner/prep/clean"] = run.outputs['inner/prep/clean, "quoted"']
        run.task(
            "train",
            inputs={"clean": run.outputs["inner/prep/clean"]},
            outputs={"model": KfpType.MODEL},
            image=IMAGE,
        )
        records.append(run.record())
        previous = run
    return records


def dump(graph: Graph) -> tuple[list[Any], list[Any]]:
    """Every node (labels, properties) and relationship (type, ends, properties)."""
    nodes = graph.run(
        "MATCH (n:Node) RETURN n.id AS id, labels(n) AS labels, properties(n) AS props", "dumping"
    )
    edges = graph.run(
        "MATCH (a)-[r]->(b) RETURN a.id AS a, type(r) AS t, b.id AS b, properties(r) AS p",
        "dumping",
    )
    return (
        sorted((r["id"], sorted(r["labels"]), sorted(r["props"].items())) for r in nodes),
        sorted((r["a"], r["t"], r["b"], sorted(r["p"].items())) for r in edges),
    )


def env(store: MlmdStore, uri: str) -> dict[str, str]:
    return {
        "LINEAGE_STORE__PATH": store.location,
        "LINEAGE_HOME": str(Path(store.location).parent),
        "LINEAGE_NEO4J__URI": uri,
    }


def test_the_offline_full_sync_swaps_in_the_projection_an_online_one_writes(
    store: MlmdStore, server: Neo4jService, graph: Graph
) -> None:
    for record in runs(40):
        store.put_run(record)
    online = sync(graph, rows_for(store), store.location, full=True)
    expected = dump(graph)
    assert any("CACHED_FROM" in e[1] for e in expected[1])
    assert any("LevelOut" in n[1] for n in expected[0])
    args = ["graph", "sync", "--full", "--offline", str(server.home / "server"), "--json"]
    result = CliRunner().invoke(app, args, env=env(store, server.bolt_uri))
    assert result.exit_code == 0, result.output
    assert f'"nodes": {online.nodes}' in result.output
    assert dump(graph) == expected
    state = read_state(graph)
    assert state is not None and "import_token" not in state
    assert state["levels"] == level_index.VERSION
    assert state["watermark_ms"] == online.watermark_ms
    assert verify(graph, rows_for(store)).ok
    indexes = graph.run("SHOW INDEXES YIELD name, state WHERE name STARTS WITH 'lineage_'", "")
    assert indexes and {r["state"] for r in indexes} == {"ONLINE"}
    # It is a projection like any other: an incremental sync goes on from its watermark.
    for record in runs(44)[40:]:
        store.put_run(record)
    result = CliRunner().invoke(app, ["graph", "sync"], env=env(store, server.bolt_uri))
    assert result.exit_code == 0, result.output
    assert verify(graph, rows_for(store)).ok


def test_a_failed_import_leaves_the_old_projection_serving(
    store: MlmdStore, server: Neo4jService, graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    for record in runs(4):
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    before = dump(graph)
    for record in runs(6)[4:]:
        store.put_run(record)
    monkeypatch.setenv("LINEAGE_NEO4J_ADMIN", "false")  # an importer that fails
    home = server.home / "server"
    args = ["graph", "sync", "--full", "--offline", str(home)]
    result = CliRunner().invoke(app, args, env=env(store, server.bolt_uri))
    assert result.exit_code != 0
    assert "neo4j-admin database import failed" in result.output
    assert "Traceback" not in result.output
    assert dump(graph) == before
    assert not (home / "import-ready").exists() and not (home / "import-staging").exists()


def test_offline_needs_full(store: MlmdStore, server: Neo4jService) -> None:
    args = ["graph", "sync", "--offline", str(server.home / "server")]
    result = CliRunner().invoke(app, args, env=env(store, server.bolt_uri))
    assert result.exit_code != 0
    assert "--offline rebuilds the projection: it needs --full" in result.output
