"""A continuous incremental sync: poll the store's watermark, sync when it moves.

The watermark is the one a sync keeps (``lineage.graph.sync``): MLMD's
``last_update_time_since_epoch``, whose newest value is three one-row reads, the
newest context, artifact and execution by that column, which MLMD indexes. A poll
that finds it unchanged costs nothing more; one that finds it moved runs an
incremental sync, which reads only the rows changed since the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lineage.errors import UnavailableError
from lineage.graph.connect import Graph
from lineage.graph.scan import Seen
from lineage.graph.sync import LOOKBACK_MS, SyncReport, sync
from lineage.store.rows import MlmdRows

INTERVAL_S = 0.2  # between polls; a new run is visible within this plus one sync


def store_watermark(rows: MlmdRows) -> int:
    """The newest ``last_update_time_since_epoch`` in the store (0 when empty)."""
    return rows.scan.newest_update_ms()


def follow(
    graph: Graph,
    rows: MlmdRows,
    store_location: str,
    stop: threading.Event,
    on_sync: Callable[[SyncReport], None],
    on_error: Callable[[UnavailableError], None],
    interval_s: float = INTERVAL_S,
    lookback_ms: int = LOOKBACK_MS,
) -> None:
    """Sync now, then again whenever the store's watermark moves, until ``stop`` is set.

    A Neo4j that is down is reported (``on_error``) and tried again at the next poll:
    the watermark moves only when a sync completes, so nothing is skipped. Other
    errors end the loop."""
    synced: int | None = None
    # The rows merged within the lookback window: each sync re-reads the window but
    # writes only what changed in it, so a burst of ingest is merged once, not for a
    # minute after it.
    seen: Seen = {}
    while not stop.is_set():
        newest = store_watermark(rows)
        if newest != synced:
            try:
                report = sync(graph, rows, store_location, lookback_ms=lookback_ms, seen=seen)
            except UnavailableError as exc:
                on_error(exc)
            else:
                synced = newest
                on_sync(report)
        stop.wait(interval_s)
