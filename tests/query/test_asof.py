"""As-of answers are historical for states: a run ingested RUNNING and later SUCCEEDED is
RUNNING as of a time in between, on both backends; where the store has no record of a
state at the time asked, the answer says so instead of showing today's value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.model import (
    Artifact,
    Context,
    Direction,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    RunRecord,
)
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import LineageQuery
from lineage.settings import Settings
from lineage.store import history
from lineage.store.convert import HISTORY
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.api.conftest import gql
from tests.conftest import require
from tests.ingest.kfp_store import KfpStore, training_run
from tests.ingest.mlmd_helpers import fast_tmp, ingest, open_home
from tests.services import Neo4jService

__all__ = ["fast_tmp"]

RUN, TASK = "run:r1", "task:r1/train"
DATA, MODEL = "artifact:gs://data/iris.csv", "artifact:gs://out/r1/model"
HOUR = 3_600_000


def record(run_state: str, task_state: ExecutionState, *, model: bool) -> RunRecord:
    """One run as an ingest source would record it at two moments: running, then done."""
    run = Context(RUN, KfpType.PIPELINE_RUN, "r1", {"state": run_state, "namespace": "ml"})
    task = Execution(
        TASK, KfpType.CONTAINER_EXECUTION, state=task_state, properties={"task_name": "train"}
    )
    data = Artifact(DATA, KfpType.DATASET, "gs://data/iris.csv")
    arts = [data]
    events = [Event(TASK, DATA, EventType.INPUT, ("dataset",))]
    if model:
        arts.append(Artifact(MODEL, KfpType.MODEL, "gs://out/r1/model"))
        events.append(Event(TASK, MODEL, EventType.OUTPUT, ("model",)))
    return RunRecord((run,), (task,), tuple(arts), tuple(events))


class Clock:
    """The store's clock, moved by the test: the times of ingest are chosen, not waited for."""

    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def graph(neo4j_service: Neo4jService) -> Iterator[Graph]:
    require("neo4j", neo4j_service)
    connected = Graph(neo4j_service.bolt_uri)
    yield connected
    connected.close()


def both(store: MlmdStore, graph: Graph) -> list[LineageService]:
    sync(graph, rows_for(store), store.location, full=True)
    return [LineageService(MlmdReader(store)), LineageService(Neo4jReader(graph))]


def at(service: LineageService, node: str, when: int | None) -> tuple[object, ...]:
    start = service.lineage(LineageQuery(node, Direction.UPSTREAM, depth=0, as_of_ms=when)).start
    return (start.state, start.properties.get("state"), start.state_known_as_of)


def test_a_run_ingested_running_then_succeeded_is_running_in_between(
    fast_tmp: Path, graph: Graph
) -> None:
    store = open_home(fast_tmp / "home")
    clock = Clock(store_now(store))
    store.clock = clock
    first = clock.now
    store.put_run(record("RUNNING", ExecutionState.RUNNING, model=False))
    clock.now = first + HOUR
    store.put_run(record("SUCCEEDED", ExecutionState.COMPLETE, model=True))
    clock.now = first + 2 * HOUR
    # Re-ingesting the unchanged run adds nothing, not even a history entry.
    assert store.put_run(record("SUCCEEDED", ExecutionState.COMPLETE, model=True)).unchanged == 4
    between, after = first + HOUR // 2, first + HOUR + 1
    answers = []
    for service in both(store, graph):
        assert at(service, RUN, between) == (None, "RUNNING", True)
        assert at(service, RUN, after) == (None, "SUCCEEDED", True)
        assert at(service, RUN, None) == (None, "SUCCEEDED", True)
        assert at(service, TASK, between) == ("RUNNING", None, True)
        assert at(service, TASK, after) == ("COMPLETE", None, True)
        # The dataset was LIVE from its first ingest on.
        assert at(service, DATA, between) == ("LIVE", None, True)
        # Downstream as of then: the task still running; the model (its row dated by
        # MLMD's own clock, not the test's) has no state recorded before its first ingest.
        down = service.lineage(LineageQuery(DATA, Direction.DOWNSTREAM, depth=5, as_of_ms=between))
        assert {n.id: (n.state, n.state_known_as_of) for n in down.nodes} == {
            DATA: ("LIVE", True),
            TASK: ("RUNNING", True),
            MODEL: (None, False),
        }
        answers.append(down)
        assert service.node(TASK, as_of_ms=between).state == "RUNNING"
        assert service.node(MODEL, as_of_ms=after).state == "LIVE"
    assert answers[0] == answers[1]
    [task] = store.mlmd.get_executions_by_external_ids([TASK])
    stored = history.entries({HISTORY: _struct(task)})
    assert stored == [("RUNNING", first), ("COMPLETE", first + HOUR)]
    store.close()


def test_without_a_record_of_the_state_then_the_answer_says_unknown(
    fast_tmp: Path, graph: Graph
) -> None:
    """A node stored before the history was kept has none: as of any time its state is
    unknown, until its state changes; from then on it is known, and before still not."""
    store = open_home(fast_tmp / "home")
    clock = Clock(store_now(store))
    store.clock = clock
    first = clock.now
    store.put_run(record("RUNNING", ExecutionState.RUNNING, model=False))
    forget_history(store)
    clock.now = first + HOUR
    store.put_run(record("RUNNING", ExecutionState.RUNNING, model=False))  # unchanged
    before_change = first + HOUR + 1
    clock.now = first + 2 * HOUR
    store.put_run(record("SUCCEEDED", ExecutionState.COMPLETE, model=True))
    after_change = first + 2 * HOUR + 1
    for service in both(store, graph):
        # Today's SUCCEEDED is not shown as the past, nor the RUNNING nobody dated.
        assert at(service, RUN, before_change) == (None, None, False)
        assert at(service, TASK, before_change) == (None, None, False)
        assert at(service, DATA, before_change) == (None, None, False)
        assert at(service, RUN, after_change) == (None, "SUCCEEDED", True)
        assert at(service, TASK, after_change) == ("COMPLETE", None, True)
        assert at(service, TASK, None) == ("COMPLETE", None, True)
    store.close()


def test_mlmd_ingest_records_each_state_it_reads_and_the_api_answers_as_of(
    fast_tmp: Path,
) -> None:
    """Through ``ingest mlmd`` and the GraphQL API: KFP's train task read RUNNING, then
    COMPLETE; ``lineage(asOf:)`` in between says RUNNING, with stateKnownAsOf."""
    source = fast_tmp / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    training_run(kfp, "run-1")
    [train] = [
        e.id
        for e in kfp.mlmd.get_executions()
        if e.custom_properties["task_name"].string_value == "train"
    ]
    set_state(kfp, train, pb.Execution.RUNNING)
    home = fast_tmp / "home"
    store = open_home(home)
    clock = Clock(store_now(store))
    store.clock = clock
    first = clock.now
    assert ingest(source, store).failed == 0
    set_state(kfp, train, pb.Execution.COMPLETE)
    clock.now = first + HOUR
    assert ingest(source, store).failed == 0
    clock.now = first + 2 * HOUR
    again = ingest(source, store, full=True)
    assert (again.nodes_created, again.nodes_updated) == (0, 0)
    store.close()
    task = "task:run-1/train"
    query = (
        "query($id: ID!, $t: DateTime) { lineage(id: $id, depth: 0, asOf: $t) "
        "{ start { state stateKnownAsOf } } }"
    )
    settings = Settings(home=home)
    with open_shared(settings, ApiSettings()) as shared:
        app = create_app(settings, ApiSettings(), shared=shared, audit=False)
        with TestClient(app) as client:
            seen = {}
            for name, when in (("between", first + HOUR // 2), ("after", first + HOUR + 1)):
                answer = gql(client, query, {"id": task, "t": iso(when)})
                assert not answer.get("errors"), answer.get("errors")
                seen[name] = answer["data"]["lineage"]["start"]
    assert seen == {
        "between": {"state": "RUNNING", "stateKnownAsOf": True},
        "after": {"state": "COMPLETE", "stateKnownAsOf": True},
    }


# --- helpers -------------------------------------------------------------------


def store_now(store: MlmdStore) -> int:
    """A start time at the store's own clock, so as-of times fall after node creation."""
    return int(store.clock())


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _struct(proto: pb.Execution) -> dict[str, object]:
    from google.protobuf import json_format

    value: dict[str, object] = json_format.MessageToDict(
        proto.custom_properties[HISTORY].struct_value
    )
    return value


def set_state(kfp: KfpStore, row: int, state: int) -> None:
    [ex] = kfp.mlmd.get_executions_by_id([row])
    ex.last_known_state = state
    kfp.mlmd.put_executions([ex])


def forget_history(store: MlmdStore) -> None:
    """Make the stored nodes look as a store written before history was kept."""
    mlmd = store.mlmd

    def strip(protos: list[Any]) -> list[Any]:
        for proto in protos:
            del proto.custom_properties[HISTORY]
        return protos

    mlmd.put_contexts(strip(mlmd.get_contexts_by_external_ids([RUN])))
    mlmd.put_executions(strip(mlmd.get_executions_by_external_ids([TASK])))
    mlmd.put_artifacts(strip(mlmd.get_artifacts_by_external_ids([DATA])))
