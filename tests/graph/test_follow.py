"""`lineage graph sync --follow`: a run ingested while it runs shows up in Neo4j, and
SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import neo4j

from lineage.graph.connect import Graph
from lineage.graph.verify import verify
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.query import scenario
from tests.services import Neo4jService

WAIT_S = 120.0  # generous: the machine may be loaded; this is no latency assertion


def has_node(graph: Graph, node_id: str) -> bool:
    records = graph.run("MATCH (n:Node {id: $id}) RETURN count(n) AS n", "looking", id=node_id)
    return bool(records and records[0]["n"])


def test_follow_projects_a_run_ingested_while_it_runs_and_stops_on_sigterm(
    store: MlmdStore,
    graph: Graph,
    neo4j_service: Neo4jService,
    neo4j_driver: neo4j.Driver,  # empties the shared Neo4j: it may hold another test's store
    tmp_path: Path,
) -> None:
    sc = scenario.build()
    # Two runs (a snapshotting record projects as an edge, not a node of its label).
    first, second, *_ = [r for r in sc.records if r.label.startswith("run:")]
    store.put_run(first)
    env = {
        **os.environ,
        "LINEAGE_STORE__PATH": store.location,
        "LINEAGE_HOME": str(tmp_path),
        "LINEAGE_NEO4J__URI": neo4j_service.bolt_uri,
    }
    argv = [sys.executable, "-m", "lineage.cli", "graph", "sync", "--follow", "--interval", "0.05"]
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)
    try:
        deadline = time.monotonic() + WAIT_S
        # Its first sync creates the schema, which readers wait for: read after it.
        while "graph sync (" not in out.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()
            time.sleep(0.1)
        assert has_node(graph, first.label), err.read_text()
        assert not has_node(graph, second.label)
        store.put_run(second)  # ingest commits while --follow runs
        while not has_node(graph, second.label) and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()
            time.sleep(0.1)
        assert has_node(graph, second.label), err.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(WAIT_S)
    assert code == 0, err.read_text()
    assert "Traceback" not in err.read_text()
    assert out.read_text().count("graph sync (") >= 2  # one line per sync it ran
    assert verify(graph, rows_for(store)).ok
