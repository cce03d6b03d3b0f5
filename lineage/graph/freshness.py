"""Whether the Neo4j projection is current with the store it projects.

A sync keeps its watermark in Neo4j: the newest MLMD ``last_update_time`` it has
projected, and which store it projected. The projection is current when no context,
artifact or execution of that store was updated after the watermark: exactly the rows
the next incremental sync would write. Reading that costs one small Neo4j read and
three MLMD reads of one row each (MLMD indexes ``last_update_time``), so it can be asked
before every answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage.graph.connect import Graph
from lineage.graph.sync import read_state
from lineage.store.row_scan import MlmdClient, RowScan


@dataclass(frozen=True)
class Freshness:
    """The projection's watermark against the store's newest change."""

    watermark_ms: int | None  # None: Neo4j holds no projection
    projected_store: str | None
    store: str
    store_changed_ms: int

    @property
    def stale(self) -> bool:
        return (
            self.watermark_ms is None
            or self.projected_store != self.store
            or self.store_changed_ms > self.watermark_ms
        )

    def reason(self, uri: str) -> str:
        """Why the projection at ``uri`` cannot answer for the store, in one line."""
        if self.watermark_ms is None:
            return f"Neo4j at {uri} holds no projection yet (run `lineage graph sync`)"
        if self.projected_store != self.store:
            return (
                f"Neo4j at {uri} holds the projection of {self.projected_store!r}, not of "
                f"{self.store!r} (run `lineage graph sync --full`)"
            )
        return (
            f"Neo4j at {uri} lags the store: synced to {self.watermark_ms}, the store changed "
            f"at {self.store_changed_ms} (run `lineage graph sync`)"
        )


def newest_change_ms(mlmd: MlmdClient) -> int:
    """The newest ``last_update_time`` of any context, artifact or execution (0 if none)."""
    return RowScan(mlmd).newest_update_ms()


def freshness(graph: Graph, mlmd: MlmdClient, store: str) -> Freshness:
    """The projection in ``graph`` against the store ``mlmd`` (located at ``store``).

    The watermark is read before the store, so a write landing in between makes the
    answer stale, never falsely current."""
    state = read_state(graph)
    watermark = None if state is None else int(state.get("watermark_ms", 0))
    projected = None if state is None else state.get("store")
    return Freshness(
        watermark_ms=watermark,
        projected_store=str(projected) if projected is not None else None,
        store=store,
        store_changed_ms=newest_change_ms(mlmd),
    )
