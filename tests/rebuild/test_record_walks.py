"""A recorded rebuild in the lineage, on both readers (MLMD, and Neo4j synced in full
or incrementally, with ``graph verify`` agreeing):

- upstream of a rebuilt artifact crosses REBUILT_FROM to its original, and on to the
  original's own upstream; the edge is keyed by the rebuild that asserts it;
- the Rebuild node sits downstream of both artifacts it compared;
- impact of an original reaches the rebuilt models;
- diff of an original and its rebuild compares how each was made (it does not cross
  REBUILT_FROM), so it shows what the rebuild changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.model import Direction, EdgeKind, NodeKind
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import Change, DiffCategory, ImpactQuery, LineageQuery
from lineage.rebuild.record import record_rebuild
from lineage.store.connect import open_sqlite
from lineage.store.rows import rows_for
from tests.conftest import require
from tests.contracts.live_reader import LiveNeo4jReader
from tests.rebuild.rebuilt import TwoRuns, two_runs
from tests.services import Neo4jService


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    return two_runs(tmp_path_factory.mktemp("rebuild-walks"))


@pytest.fixture(params=["full", "incremental"])
def services(
    request: pytest.FixtureRequest, neo4j_service: Neo4jService, tmp_path: Path, runs: TwoRuns
) -> Iterator[tuple[str, dict[str, LineageService]]]:
    """The readers over a copy of the two runs' store, with the rebuild recorded before
    one full sync, or after a full sync and then synced incrementally."""
    require("neo4j", neo4j_service)
    home = tmp_path / "home"
    shutil.copytree(runs.home, home)
    store = open_sqlite(home / "mlmd.sqlite")
    graph = Graph(neo4j_service.bolt_uri)
    try:
        if request.param == "full":
            rid = record_rebuild(store, runs.result())
            sync(graph, rows_for(store), store.location, full=True)
        else:
            sync(graph, rows_for(store), store.location, full=True)
            rid = record_rebuild(store, runs.result())
            sync(graph, rows_for(store), store.location, lookback_ms=0)
        report = verify(graph, rows_for(store), sample=50, index_sample=1000)
        assert report.ok, report.differences()
        yield (
            rid,
            {
                "mlmd": LineageService(MlmdReader(store)),
                "neo4j": LineageService(Neo4jReader(graph)),
                "neo4j-live": LineageService(LiveNeo4jReader(graph)),
            },
        )
    finally:
        graph.close()
        store.close()


def test_upstream_of_a_rebuilt_model_reaches_its_original(
    services: tuple[str, dict[str, LineageService]], runs: TwoRuns
) -> None:
    rid, readers = services
    original = runs.artifact("original", "fit", "model")["id"]
    rebuilt = runs.artifact("rebuilt", "fit", "model")["id"]
    answers = {n: s.lineage(LineageQuery(rebuilt, Direction.UPSTREAM)) for n, s in readers.items()}
    for name, answer in answers.items():
        assert answer == answers["mlmd"], name
    answer = answers["mlmd"]
    reached = {n.id for n in answer.nodes}
    # Its own making, the original, and the original's making.
    assert runs.artifact("rebuilt", "prepare", "data")["id"] in reached
    assert original in reached
    assert runs.artifact("original", "prepare", "data")["id"] in reached
    rebuilt_from = {
        (e.source, e.target, e.key) for e in answer.edges if e.kind is EdgeKind.REBUILT_FROM
    }
    assert (original, rebuilt, rid) in rebuilt_from


def test_the_rebuild_node_sits_downstream_of_what_it_compared(
    services: tuple[str, dict[str, LineageService]], runs: TwoRuns
) -> None:
    rid, readers = services
    rebuilt = runs.artifact("rebuilt", "fit", "model")["id"]
    original = runs.artifact("original", "fit", "model")["id"]
    answers = {n: s.lineage(LineageQuery(rebuilt, Direction.BOTH)) for n, s in readers.items()}
    for name, answer in answers.items():
        assert answer == answers["mlmd"], name
    nodes = {n.id: n for n in answers["mlmd"].nodes}
    assert nodes[rid].kind is NodeKind.REBUILD and nodes[rid].type == "lineage.Rebuild"
    assert nodes[rid].properties["verdict"] == "identical"
    edges = {(e.source, e.target, e.kind, e.key) for e in answers["mlmd"].edges}
    assert (rebuilt, rid, EdgeKind.INPUT, "rebuilt") in edges
    assert (original, rebuilt, EdgeKind.REBUILT_FROM, rid) in edges
    # Upstream of the rebuild: both artifacts it compared, and what made them.
    up = {n: s.lineage(LineageQuery(rid, Direction.UPSTREAM, depth=2)) for n, s in readers.items()}
    for name, answer in up.items():
        assert answer == up["mlmd"], name
    assert {original, rebuilt} <= {n.id for n in up["mlmd"].nodes}


def test_impact_of_an_original_reaches_the_rebuilt_models(
    services: tuple[str, dict[str, LineageService]], runs: TwoRuns
) -> None:
    _, readers = services
    data = runs.artifact("original", "prepare", "data")["id"]
    answers = {n: s.impact(ImpactQuery(artifact=data)) for n, s in readers.items()}
    for name, answer in answers.items():
        assert answer == answers["mlmd"], name
    models = {m.id for m in answers["mlmd"].models}
    assert models == {
        runs.artifact("original", "fit", "model")["id"],
        runs.artifact("rebuilt", "fit", "model")["id"],
    }
    assert {r.id for r in answers["mlmd"].runs} == {
        f"run:{runs.original['run_id']}",
        f"run:{runs.rebuilt['run_id']}",
    }


def test_diff_of_an_original_and_its_rebuild_shows_what_the_rebuild_changed(
    services: tuple[str, dict[str, LineageService]], runs: TwoRuns
) -> None:
    _, readers = services
    original = runs.artifact("original", "fit", "model")["id"]
    rebuilt = runs.artifact("rebuilt", "fit", "model")["id"]
    answers = {n: s.diff(original, rebuilt) for n, s in readers.items()}
    for name, answer in answers.items():
        assert answer == answers["mlmd"], name
    entries = {(e.category, e.key): e for e in answers["mlmd"].entries}
    run = entries[(DiffCategory.RUN, "run")]
    assert run.change is Change.CHANGED
    assert (run.before, run.after) == (
        f"run:{runs.original['run_id']}",
        f"run:{runs.rebuilt['run_id']}",
    )
    # Each side holds its own run's facts alone: nothing joined from the other.
    assert all(runs.original["run_id"] not in (e.after or "") for e in entries.values())
    # The same parameters, the same code: not in the diff.
    assert not [e for e in entries.values() if e.category is DiffCategory.PARAMETER]
