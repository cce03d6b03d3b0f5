"""An incremental sync as `--follow` runs it writes what changed, not its lookback window."""

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
    # The rows this put wrote, at most: the window's earlier runs are read, not re-merged.
    assert 0 < step.nodes <= rows_in(last)
    assert step.watermark_ms > window.watermark_ms
    # Nothing changed since: nothing is written, and the projection is whole.
    again = sync(graph, rows_for(store), store.location, seen=seen)
    assert again.nodes == 0 and again.edges == 0
    assert verify(graph, rows_for(store)).ok
