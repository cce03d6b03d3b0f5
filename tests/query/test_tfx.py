"""A store TFX wrote answers the questions a KFP store answers, on both backends: its runs
and pipeline are listed, impact from its examples reaches the models the Trainer and the
Pusher made, and the diff of two Trainer models lines the same components up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.model import Direction, KfpType, NodeKind
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import Change, DiffCategory, ImpactQuery, LineageQuery
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.api.conftest import gql
from tests.conftest import require
from tests.ingest.mlmd_helpers import fast_tmp, ingest, open_home
from tests.ingest.tfx_store import TRAINER, TfxStore, penguin_run, uri_of
from tests.services import Neo4jService

__all__ = ["fast_tmp"]

PIPELINE = "penguin-tfma"


@dataclass
class Tfx:
    home: Path
    store: MlmdStore
    rows: list[dict[str, int]]  # artifact rows by name, per run
    source: TfxStore

    def art(self, run: int, name: str) -> str:
        return "artifact:" + uri_of(self.source, self.rows[run][name])


@pytest.fixture(params=["tfx-1.13", "linked"])
def tfx(fast_tmp: Path, request: pytest.FixtureRequest) -> Iterator[Tfx]:
    """Three runs of one pipeline: the second evaluated against the first's model, the
    third not blessed (so nothing pushed). ``linked``: the source also links the run and
    node contexts to the pipeline context as their parent."""
    linked = request.param == "linked"
    source = TfxStore.sqlite(fast_tmp / "tfx.sqlite")
    first = penguin_run(source, "2024-05-01T10:00:00", linked=linked)
    second = penguin_run(
        source, "2024-05-02T10:00:00", num_steps=200, baseline=first["model"], linked=linked
    )
    third = penguin_run(source, "2024-05-03T10:00:00", blessed=False, linked=linked)
    home = fast_tmp / "home"
    store = open_home(home)
    report = ingest(fast_tmp / "tfx.sqlite", store)
    assert report.failed == 0, report.failures
    yield Tfx(home, store, [first, second, third], source)
    store.close()


@pytest.fixture
def graph(neo4j_service: Neo4jService) -> Iterator[Graph]:
    require("neo4j", neo4j_service)
    connected = Graph(neo4j_service.bolt_uri)
    yield connected
    connected.close()


def services(tfx: Tfx, graph: Graph) -> list[LineageService]:
    rows = rows_for(tfx.store)
    sync(graph, rows, tfx.store.location, full=True)
    assert verify(graph, rows_for(tfx.store), sample=50).ok
    return [LineageService(MlmdReader(tfx.store)), LineageService(Neo4jReader(graph))]


def test_runs_and_the_pipeline_of_a_tfx_store_are_found(tfx: Tfx) -> None:
    settings = Settings(home=tfx.home)
    with open_shared(settings, ApiSettings()) as shared:
        app = create_app(settings, ApiSettings(), shared=shared, audit=False)
        with TestClient(app) as client:
            query = (
                "query($p: ID!) { runs(first: 10) { edges { node { id pipeline { id } "
                "models { id type metadata } tasks { id name type } } } } "
                "pipeline(id: $p) { id name runs { edges { node { id } } } } }"
            )
            answer: dict[str, Any] = gql(client, query, {"p": f"pipeline:{PIPELINE}"})
    assert not answer.get("errors"), answer.get("errors")
    runs = [e["node"] for e in answer["data"]["runs"]["edges"]]
    assert [r["id"] for r in runs] == [
        "run:2024-05-01T10:00:00",
        "run:2024-05-02T10:00:00",
        "run:2024-05-03T10:00:00",
    ]
    assert {r["pipeline"]["id"] for r in runs} == {f"pipeline:{PIPELINE}"}
    pipeline = answer["data"]["pipeline"]
    assert pipeline["name"] == PIPELINE
    assert [e["node"]["id"] for e in pipeline["runs"]["edges"]] == [r["id"] for r in runs]
    first = runs[0]
    # The Trainer's model and the Pusher's pushed model, TFX's type names kept.
    assert {(m["id"], m["metadata"]["source_type"]) for m in first["models"]} == {
        (tfx.art(0, "model"), "Model"),
        (tfx.art(0, "pushed_model"), "PushedModel"),
    }
    tasks = {t["name"]: t for t in first["tasks"]}
    assert set(tasks) == {"CsvExampleGen", "SchemaGen", "Trainer", "Evaluator", "Pusher"}
    assert tasks["Trainer"]["id"] == "task:2024-05-01T10:00:00/Trainer"
    assert tasks["Trainer"]["type"] == TRAINER
    assert [m["id"] for m in runs[2]["models"]] == [tfx.art(2, "model")]
    # The second run's Evaluator read the first run's model as its baseline: TFX
    # attributes that input to the second run too, but the run did not make it.
    assert {m["id"] for m in runs[1]["models"]} == {
        tfx.art(1, "model"),
        tfx.art(1, "pushed_model"),
    }


def test_impact_from_tfx_examples_reaches_the_models_on_both_backends(
    tfx: Tfx, graph: Graph
) -> None:
    answers = []
    for service in services(tfx, graph):
        answer = service.impact(ImpactQuery(artifact=tfx.art(0, "examples"), first=50))
        answers.append(answer)
        assert {m.id for m in answer.models} == {
            tfx.art(0, "model"),
            tfx.art(0, "pushed_model"),
            # The second run's Evaluator read the first model as its baseline, and blessed
            # the second model, which the Pusher pushed.
            tfx.art(1, "pushed_model"),
        }
        assert {r.id for r in answer.runs} == {
            "run:2024-05-01T10:00:00",
            "run:2024-05-02T10:00:00",
        }
    assert answers[0] == answers[1]


def test_diff_of_two_trainer_models_lines_up_the_components(tfx: Tfx, graph: Graph) -> None:
    answers = []
    for service in services(tfx, graph):
        answer = service.diff(tfx.art(0, "model"), tfx.art(1, "model"))
        answers.append(answer)
        entries = {(e.category, e.key): e for e in answer.entries}
        assert all(e.change is Change.CHANGED for e in answer.entries), answer.entries
        steps = entries[(DiffCategory.PARAMETER, "Trainer/train_args")]
        assert (steps.before, steps.after) == ('{"num_steps": 100}', '{"num_steps": 200}')
        data = entries[(DiffCategory.DATA, "Trainer/examples")]
        assert (data.before, data.after) == (
            uri_of(tfx.source, tfx.rows[0]["examples"]),
            uri_of(tfx.source, tfx.rows[1]["examples"]),
        )
        run = entries[(DiffCategory.RUN, "run")]
        assert (run.before, run.after) == ("run:2024-05-01T10:00:00", "run:2024-05-02T10:00:00")
        # Unchanged parameters (the module file) are no entry at all.
        assert (DiffCategory.PARAMETER, "Trainer/module_file") not in entries
    assert answers[0] == answers[1]


def test_lineage_of_a_tfx_run_agrees_on_both_backends(tfx: Tfx, graph: Graph) -> None:
    answers = []
    for service in services(tfx, graph):
        query = LineageQuery(tfx.art(1, "pushed_model"), Direction.UPSTREAM, depth=20, kinds=None)
        answer = service.lineage(query)
        answers.append(answer)
        tasks = {n.name for n in answer.nodes if n.kind is NodeKind.TASK}
        # Upstream of the second push: its run, and the first run's Trainer (the baseline).
        assert tasks == {"CsvExampleGen", "SchemaGen", "Trainer", "Evaluator", "Pusher"}
        ids = {n.id for n in answer.nodes}
        assert "task:2024-05-01T10:00:00/Trainer" in ids
        assert tfx.art(0, "examples") in ids
    assert answers[0] == answers[1]


def test_reingesting_a_tfx_store_changes_nothing_and_a_new_run_comes_in(
    tfx: Tfx, fast_tmp: Path
) -> None:
    counts = tfx.store.counts()
    again = ingest(fast_tmp / "tfx.sqlite", tfx.store, full=True)
    assert (again.failed, again.written, again.nodes_created, again.nodes_updated) == (0, 0, 0, 0)
    assert tfx.store.counts() == counts
    penguin_run(tfx.source, "2024-05-04T10:00:00", baseline=tfx.rows[1]["model"])
    later = ingest(fast_tmp / "tfx.sqlite", tfx.store)
    assert later.failed == 0
    [run] = tfx.store.get_contexts(["run:2024-05-04T10:00:00"])
    assert (run.type, run.parents) == (KfpType.PIPELINE_RUN, (f"pipeline:{PIPELINE}",))
    assert len(tfx.store.get_executions(["task:2024-05-04T10:00:00/Pusher"])) == 1
