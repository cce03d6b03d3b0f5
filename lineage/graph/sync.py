"""Projecting the store into Neo4j: full, or incremental from a watermark kept in Neo4j.

MLMD is the truth; Neo4j is derived and can be emptied and rebuilt at any time.
Ingest never touches Neo4j: a sync reads what MLMD changed since the last one
(by MLMD's last_update_time) and merges it in. Every batch is one transaction
and every write is a MERGE, so a sync cut short by a Neo4j outage is simply run
again; the watermark moves only when a sync completes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

import neo4j

from lineage.errors import ConfigError
from lineage.graph import bulk, level_index, reach_index
from lineage.graph import rows as texts
from lineage.graph.connect import Graph, TooBigError
from lineage.graph.scan import PAGE, Batch, Seen, scan
from lineage.model import EdgeKind, LineageEdge, LineageNode, NodeKind
from lineage.store import row_rules
from lineage.store.rows import MlmdRows

STATE_KEY = reach_index.STATE_KEY
_Page = tuple[Batch, list[bulk.Item]]
# Re-read this much before the watermark: a write that committed after a sync
# read past it may carry an earlier timestamp. Re-merging is idempotent.
LOOKBACK_MS = 60_000

SCHEMA = (
    "CREATE CONSTRAINT lineage_node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX lineage_task_cached_from IF NOT EXISTS FOR (n:Task) ON (n.cached_from)",
    "CREATE INDEX lineage_task_parent IF NOT EXISTS FOR (n:Task) ON (n.parent_task)",
    "CREATE INDEX lineage_image_digest IF NOT EXISTS FOR (n:Image) ON (n.digest)",
    # Impact pages walk candidates in id order (lineage.query.readers.neo4j.impact):
    # models, and runs.
    "CREATE INDEX lineage_artifact_type_id IF NOT EXISTS FOR (n:Artifact) ON (n.type, n.id)",
    "CREATE INDEX lineage_run_id IF NOT EXISTS FOR (n:Run) ON (n.id)",
    "CREATE INDEX lineage_model_id IF NOT EXISTS FOR (n:Model) ON (n.id)",
    "CREATE CONSTRAINT lineage_sync_key IF NOT EXISTS FOR (s:SyncState) REQUIRE s.key IS UNIQUE",
    # Cut levels of hubs read their edges in far-id order (lineage.graph.level_index).
    *level_index.schema(),
)


@dataclass
class SyncReport:
    full: bool
    since_ms: int | None
    watermark_ms: int
    nodes: int = 0
    edges: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def nodes_per_s(self) -> float:
        return self.nodes / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "nodes_per_s": round(self.nodes_per_s, 1)}

    def summary(self) -> str:
        mode = "full" if self.full else f"incremental since {self.since_ms}"
        return (
            f"graph sync ({mode}): {self.nodes} nodes, {self.edges} edges in {self.batches} "
            f"batches, {self.seconds:.1f}s ({self.nodes_per_s:.0f} nodes/s); "
            f"watermark {self.watermark_ms}"
        )


def ensure_schema(graph: Graph) -> None:
    if graph.schema_ready:
        return
    for statement in SCHEMA:
        graph.run(statement, "creating the lineage schema")
    graph.schema_ready = True


def read_state(graph: Graph) -> dict[str, Any] | None:
    records = graph.run(
        "MATCH (s:SyncState {key: $key}) RETURN s {.*} AS s", "reading the watermark", key=STATE_KEY
    )
    return dict(records[0]["s"]) if records else None


def _node_rows(nodes: list[LineageNode]) -> dict[NodeKind, list[dict[str, Any]]]:
    grouped: dict[NodeKind, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        props = row_rules.to_row(node)
        props["row"] = texts.row_text(props)  # the node as readers fetch it (lineage.graph.rows)
        grouped[node.kind].append(props)
    return grouped


def _write_batch(
    tx: neo4j.ManagedTransaction, batch: Batch, marked: level_index.Marked
) -> list[LineageEdge]:
    """One page (or part of one) in one transaction of an incremental sync: its nodes,
    then its edges, merged, so re-reading a row changes nothing; the reach and level
    indexes follow in the same transaction. Returns the edges written (those made from
    task references included)."""
    for kind, rows in _node_rows(batch.nodes).items():
        # Labels cannot be parameters; they come from the NodeKind enum, never from input.
        text = f"UNWIND $rows AS r MERGE (n:Node {{id: r.id}}) SET n += r, n:{kind.value}"
        tx.run(text, rows=rows).consume()
    grouped: dict[EdgeKind, list[dict[str, Any]]] = defaultdict(list)
    for edge in batch.edges:
        grouped[edge.kind].append({"s": edge.source, "t": edge.target, "k": edge.key})
    for edge_kind, rows in grouped.items():
        tx.run(
            "UNWIND $rows AS r MATCH (a:Node {id: r.s}) MATCH (b:Node {id: r.t}) "
            f"MERGE (a)-[e:{edge_kind.value}]->(b) SET e.key = r.k",
            rows=rows,
        ).consume()
    models = [
        n.id
        for n in batch.nodes
        if n.type == reach_index.MODEL_TYPE and n.kind is NodeKind.ARTIFACT
    ]
    reach_index.mark_models(tx, models)
    written = list(batch.edges)
    tasks = [n.id for n in batch.nodes if n.kind is NodeKind.TASK]
    if tasks:
        written += _write_references(tx, tasks)
    reach_index.update(tx, written)
    level_index.update(tx, written, marked)
    return written


def _halves(batch: Batch) -> tuple[Batch, Batch]:
    """Two parts of a batch, nodes before edges: each part's edges find their ends."""
    if batch.nodes and batch.edges:
        return replace(batch, edges=[]), replace(batch, nodes=[])
    if batch.nodes:
        half = len(batch.nodes) // 2
        return replace(batch, nodes=batch.nodes[:half]), replace(batch, nodes=batch.nodes[half:])
    half = len(batch.edges) // 2
    return replace(batch, edges=batch.edges[:half]), replace(batch, edges=batch.edges[half:])


def _merge_split(graph: Graph, batch: Batch, marked: level_index.Marked) -> list[LineageEdge]:
    """Merge a batch in one transaction, or in halves when Neo4j stops it for its time
    or memory (``bulk.write_split``, for an incremental batch); one record that does
    not fit alone is an error naming it."""
    try:
        return graph.write(
            partial(_write_batch, batch=batch, marked=marked), f"writing a {batch.cls} batch"
        )
    except TooBigError as exc:
        if len(batch.nodes) + len(batch.edges) == 1:
            name = (
                f"node {batch.nodes[0].id}"
                if batch.nodes
                else f"{batch.edges[0].kind.value} edge {batch.edges[0].source} -> "
                f"{batch.edges[0].target}"
            )
            raise TooBigError(f"{exc} (even alone: {name})") from exc
    first, second = _halves(batch)
    return _merge_split(graph, first, marked) + _merge_split(graph, second, marked)


def _write_references(tx: neo4j.ManagedTransaction, ids: list[str]) -> list[LineageEdge]:
    """CACHED_FROM and PARENT_DAG, from these tasks' properties and towards them;
    returns the edges of both kinds touching them (for the reach and level indexes).

    Both directions, so the edge appears whichever of the two tasks is synced last.
    """
    # The index hints pin the lookups of tasks by reference: without them, a full sync
    # of 2,000 runs once spent 4 minutes in this query (a plan choice, not reproduced).
    tx.run(
        "UNWIND $ids AS id MATCH (t:Node {id: id}) WHERE t:Task "
        "CALL (t) { MATCH (o:Node {id: t.cached_from}) WHERE o:Task "
        "MERGE (o)-[:CACHED_FROM]->(t) } "
        "CALL (t) { MATCH (c:Task) USING INDEX c:Task(cached_from) "
        "WHERE c.cached_from = t.id MERGE (t)-[:CACHED_FROM]->(c) } "
        "CALL (t) { MATCH (p:Node {id: t.parent_task}) WHERE p:Task "
        "MERGE (t)-[:PARENT_DAG]->(p) } "
        "CALL (t) { MATCH (c:Task) USING INDEX c:Task(parent_task) "
        "WHERE c.parent_task = t.id MERGE (c)-[:PARENT_DAG]->(t) }",
        ids=ids,
    ).consume()
    record = tx.run(
        "UNWIND $ids AS id MATCH (:Node {id: id})-[e:CACHED_FROM|PARENT_DAG]-(:Node) "
        "RETURN collect(DISTINCT [startNode(e).id, endNode(e).id, type(e)]) AS es",
        ids=ids,
    ).single()
    found = record["es"] if record else []
    return [LineageEdge(s, t, EdgeKind(kind)) for s, t, kind in found]


def wipe(graph: Graph) -> None:
    """Delete the projection in bounded transactions (a full sync starts from nothing):
    the relationships first, so that no transaction holds a hub's edges with its nodes,
    then the nodes; a transaction that overflows is retried smaller."""
    bulk.repeat_bounded(
        graph,
        "MATCH (:Node)-[r]->() WITH r LIMIT $limit DELETE r RETURN count(*) AS count",
        "emptying the projection (relationships)",
    )
    bulk.repeat_bounded(
        graph,
        "MATCH (n:Node) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS count",
        "emptying the projection (nodes)",
    )
    graph.run("MATCH (s:SyncState {key: $key}) DELETE s", "resetting the watermark", key=STATE_KEY)


def _count(report: SyncReport, batch: Batch) -> None:
    report.batches += 1
    report.nodes += len(batch.nodes)
    report.edges += len(batch.edges)
    report.watermark_ms = max(report.watermark_ms, batch.updated_ms)


def _read_ahead(
    rows: MlmdRows,
    page: int,
    facts: bulk.Facts,
    out: queue.Queue[_Page | BaseException | None],
    stop: threading.Event,
) -> None:
    """The reading half of a full sync, in its own thread: pages from the store as items
    to create, facts gathered for the indexes; None at the end, or the error. Ends
    early when the writer sets ``stop``."""
    try:
        for batch in scan(rows, None, page):
            if stop.is_set():
                return
            facts.add(batch)
            out.put((batch, bulk.items(batch)))
        out.put(None)
    except BaseException as exc:  # handed to the writer, which raises it
        out.put(exc)


def _full(graph: Graph, rows: MlmdRows, page: int, report: SyncReport) -> None:
    """Into the emptied projection: pages as plain creates, then the indexes set-wise.

    Reading a page (MLMD, then Python) overlaps writing the one before it: Neo4j works
    while the driver waits on the socket, so the two share the machine's cores, and a
    full sync costs about the larger of the two rather than their sum."""
    facts = bulk.Facts()
    pages: queue.Queue[_Page | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_ahead, args=(rows, page, facts, pages, stop), name="sync-read", daemon=True
    )
    reader.start()
    try:
        while (got := pages.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            batch, items = got
            doing = f"writing a {batch.cls} batch"
            bulk.write_split(graph, items, bulk.create, doing, bulk.item_name)
            _count(report, batch)
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                pages.get(timeout=0.1)
        reader.join()
    bulk.finish(graph, facts)


def _incremental(
    graph: Graph,
    rows: MlmdRows,
    since: int | None,
    page: int,
    report: SyncReport,
    state: dict[str, Any],
    seen: Seen | None,
) -> None:
    """Merge what changed since the watermark, keeping the indexes batch by batch;
    rows ``seen`` holds unchanged are left out, the rows merged are added to it."""
    marked = level_index.load(graph)
    touched: set[str] = set()
    if seen is not None and since is not None:
        for key in [k for k, updated in seen.items() if updated < since]:
            del seen[key]  # out of the window: never read again
    for batch in scan(rows, since, page, seen):
        written = _merge_split(graph, batch, marked)
        touched.update(end for edge in written for end in (edge.source, edge.target))
        _count(report, batch)
        if seen is not None:
            seen.update(batch.rows)  # only once merged: a failed batch is read again
    if state.get(texts.STATE_FIELD) != texts.VERSION:
        texts.backfill(graph)  # synced before rows were stored: stored in place, once
    # Hubs that crossed the threshold: among the nodes written, or among all nodes when
    # the projection predates the index.
    everywhere = state.get(level_index.STATE_FIELD) != level_index.VERSION
    level_index.settle(graph, None if everywhere else touched, marked)


def sync(
    graph: Graph,
    rows: MlmdRows,
    store_location: str,
    full: bool = False,
    page: int = PAGE,
    lookback_ms: int = LOOKBACK_MS,
    seen: Seen | None = None,
) -> SyncReport:
    """Bring Neo4j up to date with the store; ``full`` rebuilds it from nothing.

    ``seen``, kept by the caller from one sync to the next (``lineage.graph.follow``),
    spares the re-merge of the lookback window's rows merged by an earlier sync."""
    started = time.monotonic()
    ensure_schema(graph)
    state = read_state(graph)
    if state is not None and not full and state.get("store") != store_location:
        raise ConfigError(
            f"Neo4j at {graph.uri} holds the projection of {state.get('store')!r}, not of "
            f"{store_location!r}; run `lineage graph sync --full` to rebuild it"
        )
    if state is not None and state.get("index") != reach_index.VERSION:
        full = True  # built before this reach index existed: rebuild it whole, once
    if full or state is None:
        wipe(graph)
        since = None
        watermark = 0
    else:
        watermark = int(state.get("watermark_ms", 0))
        since = max(watermark - lookback_ms, 0)
    report = SyncReport(full=since is None, since_ms=since, watermark_ms=watermark)
    if report.full:
        if seen is not None:
            seen.clear()  # the projection was emptied: every row is merged again
        _full(graph, rows, page, report)
    else:
        assert state is not None
        _incremental(graph, rows, since, page, report, state, seen)
    graph.write(
        lambda tx: tx.run(
            "MERGE (s:SyncState {key: $key}) SET s.watermark_ms = $w, s.store = $store, "
            "s.synced_at_ms = timestamp(), s.index = $index, "
            f"s.{level_index.STATE_FIELD} = $levels, s.{texts.STATE_FIELD} = $rows",
            index=reach_index.VERSION,
            levels=level_index.VERSION,
            rows=texts.VERSION,
            key=STATE_KEY,
            w=report.watermark_ms,
            store=store_location,
        ).consume(),
        "saving the watermark",
    )
    report.seconds = time.monotonic() - started
    return report
