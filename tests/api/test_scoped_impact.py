"""Impact for a namespace token from Neo4j: the fast uncounted page (the inner reader's
pages, filtered) gives exactly the page of the generic walk, page after page.

The store: one dataset that thirty runs of three namespaces read, each run making a
model, so a namespace's models and runs lie scattered among hidden ones in id order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lineage import model
from lineage.api.guards.auth import Principal
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    LineageNode,
    RunRecord,
)
from lineage.query.impact import impact
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import IMPACT_BUDGET
from lineage.query.types import ImpactAnswer, ImpactQuery
from lineage.services.scope import ScopedReader, Visibility
from lineage.store.connect import open_sqlite
from lineage.store.rows import MlmdRows
from tests.services import Neo4jService, wipe_neo4j

DATASET = "artifact:gs://shared/dataset"
RUNS = 30


def _namespace(i: int) -> str:
    # Uneven on purpose: team-b holds every third run, team-c only two.
    if i in (7, 23):
        return "team-c"
    return "team-b" if i % 3 == 0 else "team-a"


def _source() -> RunRecord:
    run = Context(
        id=model.run_id("source"),
        type=KfpType.PIPELINE_RUN,
        name="source",
        properties={"namespace": "team-a"},
    )
    make = Execution(
        id=model.task_id("source", "make"),
        type=KfpType.CONTAINER_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"namespace": "team-a"},
    )
    data = Artifact(id=DATASET, type=KfpType.DATASET, uri="gs://shared/dataset")
    return RunRecord((run,), (make,), (data,), (Event(make.id, data.id, EventType.OUTPUT),))


def _consumer(i: int) -> RunRecord:
    name = f"consumer-{i:02d}"
    run = Context(
        id=model.run_id(name),
        type=KfpType.PIPELINE_RUN,
        name=name,
        properties={"namespace": _namespace(i)},
    )
    # No namespace on the task: it belongs to its run's (through PART_OF).
    train = Execution(
        id=model.task_id(name, "train"),
        type=KfpType.CONTAINER_EXECUTION,
        state=ExecutionState.COMPLETE,
    )
    data = Artifact(id=DATASET, type=KfpType.DATASET, uri="gs://shared/dataset")
    made = Artifact(
        id=f"artifact:gs://models/{name}/model", type=KfpType.MODEL, uri=f"gs://models/{name}"
    )
    events = (
        Event(train.id, data.id, EventType.INPUT, ("dataset",)),
        Event(train.id, made.id, EventType.OUTPUT, ("model",)),
    )
    return RunRecord((run,), (train,), (data, made), events)


@pytest.fixture(scope="module")
def reader(
    tmp_path_factory: pytest.TempPathFactory, neo4j_service: Neo4jService
) -> Iterator[Neo4jReader]:
    # Synced once for the module (every test here only reads), over a wiped server.
    with neo4j_service.driver() as driver:
        wipe_neo4j(driver)
    store = open_sqlite(tmp_path_factory.mktemp("scoped-impact") / "mlmd.sqlite")
    graph = Graph(neo4j_service.bolt_uri)
    try:
        store.put_run(_source())
        for i in range(RUNS):
            store.put_run(_consumer(i))
        sync(graph, MlmdRows(store.mlmd), store.location, full=True)
        yield Neo4jReader(graph)
    finally:
        graph.close()
        store.close()


def _scoped(reader: Neo4jReader, namespace: str) -> ScopedReader:
    principal = Principal(subject=namespace, namespaces=frozenset({namespace}), via="token")
    return ScopedReader(reader, Visibility(reader, principal, "default"))


def _pages(scoped: ScopedReader, first: int, count: bool) -> list[ImpactAnswer]:
    source = scoped.nodes([DATASET])[DATASET]
    answers: list[ImpactAnswer] = []
    after = None
    while True:
        query = ImpactQuery(artifact=DATASET, first=first, after=after, count=count)
        answers.append(impact(scoped, [source], query, IMPACT_BUDGET))
        after = answers[-1].cursor
        if after is None:
            return answers
        assert len(answers) <= 2 * RUNS, "paging does not end"


def _ids(nodes: tuple[LineageNode, ...]) -> list[str]:
    return [n.id for n in nodes]


@pytest.mark.parametrize("namespace", ["team-b", "team-c", "team-a"])
@pytest.mark.parametrize("first", [1, 3, 50])
def test_the_fast_scoped_page_is_the_generic_walks_page(
    reader: Neo4jReader, namespace: str, first: int
) -> None:
    scoped = _scoped(reader, namespace)
    # The fast page answers (None would mean the generic walk)...
    assert scoped.reach_page([DATASET], None, None, first, False, IMPACT_BUDGET) is not None
    # ...while totals, which count only what the token sees, come from the walk.
    assert scoped.reach_page([DATASET], None, None, first, True, IMPACT_BUDGET) is None
    fast, walked = _pages(scoped, first, count=False), _pages(scoped, first, count=True)
    assert [(_ids(a.models), _ids(a.runs), a.cursor) for a in fast] == [
        (_ids(a.models), _ids(a.runs), a.cursor) for a in walked
    ]
    assert [a.models for a in fast] == [a.models for a in walked]  # the nodes, not only ids
    mine = [i for i in range(RUNS) if _namespace(i) == namespace]
    models = [m for a in fast for m in _ids(a.models)]
    runs = [r for a in fast for r in _ids(a.runs)]
    assert models == sorted(f"artifact:gs://models/consumer-{i:02d}/model" for i in mine)
    assert runs == sorted(model.run_id(f"consumer-{i:02d}") for i in mine)
    assert walked[0].total_models == walked[0].total_runs == len(mine)
