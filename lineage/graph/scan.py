"""Reading the store page by page as lineage nodes and edges, for sync and verify.

Pages follow MLMD row ids (keyset paging) and may be restricted to rows MLMD
updated since a watermark. Contexts come first, then artifacts, then
executions: an execution page carries the edges of its events, whose other
ends are by then already projected. The rules are ``lineage.query.projection``,
the same the MLMD reader walks by.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ml_metadata.metadata_store import metadata_store

from lineage.model import NodeKind
from lineage.query import projection
from lineage.query.mlmd_rows import Cls, MlmdRows, Row
from lineage.query.types import LineageEdge, LineageNode

PAGE = 10_000  # rows per page: one Neo4j transaction each (the issue asks 10k-20k)


@dataclass
class Batch:
    """One page: its nodes, the edges it owns, and the newest MLMD update time seen."""

    cls: Cls
    nodes: list[LineageNode] = field(default_factory=list)
    edges: list[LineageEdge] = field(default_factory=list)
    updated_ms: int = 0


def _pages(rows: MlmdRows, cls: Cls, since_ms: int | None, page: int) -> Iterator[list[Row]]:
    fetch = {
        "context": rows.mlmd.get_contexts,
        "execution": rows.mlmd.get_executions,
        "artifact": rows.mlmd.get_artifacts,
    }[cls]
    after = 0
    while True:
        query = f"id > {after}"
        if since_ms is not None:
            query += f" AND last_update_time_since_epoch >= {since_ms}"
        options = metadata_store.ListOptions(
            limit=page, order_by=metadata_store.OrderByField.ID, is_asc=True, filter_query=query
        )
        protos = fetch(list_options=options)
        if not protos:
            return
        yield [rows.wrap(cls, p) for p in protos]
        if len(protos) < page:
            return
        after = int(protos[-1].id)


def _updated(page: list[Row]) -> int:
    return max((int(r.proto.last_update_time_since_epoch) for r in page), default=0)


def scan(rows: MlmdRows, since_ms: int | None = None, page: int = PAGE) -> Iterator[Batch]:
    """Every page changed since ``since_ms`` (all of them when None), as batches.

    The context edges (PART_OF, VERSION_OF between contexts) come in one batch
    after the context pages, so both ends are projected before them.
    """
    context_edges = Batch("context")
    for ctx_page in _pages(rows, "context", since_ms, page):
        batch = Batch("context", updated_ms=_updated(ctx_page))
        batch.nodes = [r.node for r in ctx_page if r.node is not None]
        for ctx in ctx_page:
            if ctx.node is None:
                continue
            for parent in rows.parents(ctx.row):
                if parent.node is not None:
                    context_edges.edges.append(projection.context_edge(ctx.node, parent.node))
        yield batch
    if context_edges.edges:
        yield context_edges
    for art_page in _pages(rows, "artifact", since_ms, page):
        yield Batch(
            "artifact",
            nodes=[r.node for r in art_page if r.node is not None],
            updated_ms=_updated(art_page),
        )
    for ex_page in _pages(rows, "execution", since_ms, page):
        batch = Batch("execution", updated_ms=_updated(ex_page))
        batch.nodes = [r.node for r in ex_page if r.node is not None]
        batch.edges = execution_edges(rows, ex_page)
        yield batch


def execution_edges(rows: MlmdRows, page: list[Row]) -> list[LineageEdge]:
    """The event edges, folded snapshots and rebuilds, and run attributions of these
    executions."""
    by_row = {r.row: r for r in page}
    events = rows.events_of_executions(list(by_row))
    artifacts = rows.by_rows("artifact", {e.artifact_id for e in events})
    edges: list[LineageEdge] = []
    sources: dict[int, list[LineageNode]] = {}
    snapshots: dict[int, list[LineageNode]] = {}
    rebuilds: dict[int, dict[tuple[str, int], LineageNode]] = {}
    for event in events:
        ex = by_row[event.execution_id]
        art = artifacts.get(event.artifact_id)
        if art is None or art.node is None:
            continue
        if ex.type == projection.SNAPSHOTTING:
            if projection.is_input(event):
                sources.setdefault(ex.row, []).append(art.node)
            elif projection.is_output(event):
                snapshots.setdefault(ex.row, []).append(art.node)
            continue
        if ex.type == projection.REBUILDING:
            side = projection.rebuild_side(event)
            if side is not None:
                rebuilds.setdefault(ex.row, {})[side] = art.node
        if ex.node is not None:
            edge = projection.event_edge(event, ex.node, art.node)
            if edge is not None:
                edges.append(edge)
    for ex_row, snaps in snapshots.items():
        for source in sources.get(ex_row, []):
            for snap in snaps:
                folded = projection.snapshot_edge(source, snap)
                if folded is not None:
                    edges.append(folded)
    for ex_row, sides in rebuilds.items():
        rebuild = by_row[ex_row].node
        if rebuild is not None:
            edges.extend(projection.rebuild_pairs(sides, rebuild.id))
    tasks = [r for r in page if r.node is not None and r.node.kind is NodeKind.TASK]
    attributed = rows.contexts_of_executions([t.row for t in tasks])
    for task in tasks:
        assert task.node is not None
        for ctx in attributed.get(task.row, []):
            if ctx.node is not None:
                edge = projection.part_of(task.node, ctx.node)
                if edge is not None:
                    edges.append(edge)
    return edges


def reference_edges(tasks: dict[str, LineageNode]) -> list[LineageEdge]:
    """CACHED_FROM and PARENT_DAG edges among these tasks (both ends must be tasks)."""
    from lineage.model import EdgeKind

    edges: list[LineageEdge] = []
    for task in tasks.values():
        original = projection.reference(task, projection.CACHED_FROM)
        if original is not None and original in tasks:
            edges.append(LineageEdge(original, task.id, EdgeKind.CACHED_FROM))
        parent = projection.reference(task, projection.PARENT_TASK)
        if parent is not None and parent in tasks:
            edges.append(LineageEdge(task.id, parent, EdgeKind.PARENT_DAG))
    return edges
