"""A sync against a Neo4j with tight transaction limits: a batch that runs past the
transaction timeout or memory is split and retried, and never aborts the sync."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import neo4j
import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.graph import level_index
from lineage.graph.connect import Graph, TooBigError
from lineage.graph.sync import ensure_schema, sync, wipe
from lineage.graph.verify import verify
from lineage.model import KfpType, RunRecord
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.conftest import require
from tests.kit.records import Run, dataset, image
from tests.services import Neo4jService

T = TypeVar("T")
HUB = dataset("gs://data/hub.csv", name="hub")
IMAGE = image("registry.local/train", "v1")
# One transaction may hold 2 MiB: a page of a few thousand rows overflows it, one row
# fits. Timed-out transactions are found within 100 ms (Neo4j's default check is 2 s).
TIGHT = {"txmax.kb": 2048, "txmonitor.ms": 100}
# A client-side transaction timeout (TransactionTimedOutClientConfiguration) that any
# single record meets even on a loaded machine; a transaction waiting on a lock does not.
TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def tight() -> Iterator[Neo4jService]:
    # Through require(): a Neo4j that cannot start skips here, and fails under CI=true.
    with require("neo4j", Neo4jService(settings=TIGHT)) as service:
        yield service


@pytest.fixture
def tight_graph(tight: Neo4jService) -> Iterator[Graph]:
    connected = Graph(tight.bolt_uri)
    wipe(connected)  # bounded: one DETACH DELETE of it all overflows this server
    yield connected
    connected.close()


@pytest.fixture(autouse=True)
def dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # The hub and the image are keyed: their edges are set in bounded transactions too.
    monkeypatch.setattr(level_index, "DENSE", 50)


def runs(count: int) -> list[RunRecord]:
    """Runs of three tasks: ingest reads the hub, prep cleans, train writes a model."""
    records = []
    for i in range(count):
        run = Run(f"r{i:04d}")
        run.task("ingest", inputs={"data": HUB}, outputs={"raw": KfpType.DATASET}, image=IMAGE)
        run.task("prep", inputs={"raw": run.outputs["ingest/raw"]}, outputs={"clean": "x"})
        run.task(
            "train",
            inputs={"clean": run.outputs["prep/clean"]},
            outputs={"model": KfpType.MODEL},
            image=IMAGE,
        )
        records.append(run.record())
    return records


class Counting(Graph):
    """Counts the write transactions Neo4j stopped for their size."""

    stopped = 0

    def write(self, work: Callable[[neo4j.ManagedTransaction], T], doing: str) -> T:
        try:
            return super().write(work, doing)
        except TooBigError:
            self.stopped += 1
            raise


class Releasing(Counting):
    """Calls ``release`` once, when Neo4j first stops a transaction."""

    release: Callable[[], None] | None = None

    def write(self, work: Callable[[neo4j.ManagedTransaction], T], doing: str) -> T:
        try:
            return super().write(work, doing)
        except TooBigError:
            if self.release is not None:
                self.release()
                self.release = None
            raise


def env(store: MlmdStore, uri: str) -> dict[str, str]:
    return {
        "LINEAGE_STORE__PATH": store.location,
        "LINEAGE_HOME": str(Path(store.location).parent),
        "LINEAGE_NEO4J__URI": uri,
    }


def test_batches_past_transaction_memory_are_split_and_the_full_sync_completes(
    store: MlmdStore, tight: Neo4jService, tight_graph: Graph
) -> None:
    for record in runs(200):
        store.put_run(record)
    graph = Counting(tight.bolt_uri)
    first = sync(graph, rows_for(store), store.location, full=True)
    assert graph.stopped > 0  # the pages did overflow: the splitting was exercised
    assert verify(graph, rows_for(store)).ok
    # Again, over the whole projection: emptying it is bounded too.
    second = sync(graph, rows_for(store), store.location, full=True)
    assert (second.nodes, second.edges) == (first.nodes, first.edges)
    assert verify(graph, rows_for(store)).ok
    for record in runs(220)[200:]:  # an incremental batch is split the same way
        store.put_run(record)
    sync(graph, rows_for(store), store.location, page=100_000)
    result = CliRunner().invoke(app, ["graph", "verify"], env=env(store, tight.bolt_uri))
    assert result.exit_code == 0, result.output


def test_batches_past_the_transaction_timeout_are_split_and_the_sync_completes(
    store: MlmdStore, tight: Neo4jService, tight_graph: Graph
) -> None:
    records = runs(200)
    for record in records:
        store.put_run(record)
    # The page holding one run's node waits on a lock another transaction holds (it
    # created a node of that id, uncommitted), so it runs past the timeout: for sure,
    # however loaded the machine. The lock goes once a transaction was stopped.
    blocked = records[-1].label
    graph = Releasing(tight.bolt_uri, write_timeout_s=TIMEOUT_S)
    ensure_schema(graph)  # the id constraint: it is what makes the holder's node a lock
    with tight.driver() as driver, driver.session() as session:
        holder = session.begin_transaction()
        holder.run("CREATE (:Node {id: $id})", id=blocked).consume()
        graph.release = holder.rollback
        try:
            sync(graph, rows_for(store), store.location, full=True)
        finally:
            if not holder.closed():
                holder.rollback()
    assert graph.stopped > 0
    assert verify(graph, rows_for(store)).ok


def test_a_single_record_that_never_fits_is_an_error_naming_it(
    store: MlmdStore, tight: Neo4jService, tight_graph: Graph
) -> None:
    record = runs(1)[0]
    store.put_run(record)
    graph = Graph(tight.bolt_uri, write_timeout_s=TIMEOUT_S)
    ensure_schema(graph)
    # A node that outlasts the timeout even alone: its id stays locked (as above).
    with tight.driver() as driver, driver.session() as session:
        holder = session.begin_transaction()
        holder.run("CREATE (:Node {id: $id})", id=record.label).consume()
        try:
            with pytest.raises(TooBigError, match=re.escape(f"even alone: node {record.label}")):
                sync(graph, rows_for(store), store.location, full=True)
        finally:
            holder.rollback()
    # Nothing was stored as synced: the next sync starts over, and completes.
    sync(graph, rows_for(store), store.location)
    assert verify(graph, rows_for(store)).ok
