"""An incremental sync as `--follow` runs it does not write its lookback window's artifacts
again; its contexts and executions it does, since links can reach them late."""

from __future__ import annotations

from lineage.graph.connect import Graph
from lineage.graph.scan import Seen
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.model import RunRecord
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.query import scenario


def rows_in(record: RunRecord) -> int:
    return len(record.contexts) + len(record.executions) + len(record.artifacts)


def artifacts_in(records: list[RunRecord]) -> int:
    return len({artifact.id for record in records for artifact in record.artifacts})


def test_a_sync_after_one_run_writes_that_run_not_the_runs_merged_a_minute_before(
    store: MlmdStore, graph: Graph
) -> None:
    *earlier, last = scenario.build().records
    for record in earlier:
        store.put_run(record)
    sync(graph, rows_for(store), store.location, full=True)
    seen: Seen = {}  # kept from one sync to the next, as `lineage graph sync --follow` does
    # Every earlier run is within the default lookback window (a minute): the first sync
    # with an empty memory merges the window again.
    window = sync(graph, rows_for(store), store.location, seen=seen)
    assert window.nodes > rows_in(last)
    store.put_run(last)
    step = sync(graph, rows_for(store), store.location, seen=seen)
    # The window's earlier artifacts are read, not merged again.
    assert 0 < step.nodes <= window.nodes - artifacts_in(earlier) + rows_in(last)
    assert step.watermark_ms > window.watermark_ms
    # Nothing changed since: no artifact is written again, and the projection is whole.
    again = sync(graph, rows_for(store), store.location, seen=seen)
    assert again.nodes <= step.nodes + window.nodes - artifacts_in([*earlier, last])
    assert verify(graph, rows_for(store)).ok
