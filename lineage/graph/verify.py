"""Checking the projection against the store: counts by kind, every node and edge with
its properties (``lineage.graph.compare``), a sample of Neo4j's edges to name extras, the
reach index against the walk it stands for, and what readers fetch instead of the
properties themselves (stored node rows, the level index's keys).

The store side is computed with the same scan and rules the sync uses, so a
difference means Neo4j is behind (a sync is due) or was changed by hand. The
index (``lineage.graph.reach_index``) is derived inside Neo4j: for a sample of nodes
that feed a model, the models and runs it gives must equal those a walk of the
data flow gives.

What repairs a difference: ``lineage graph sync --full``. An incremental sync
projects only the rows the store changed since its watermark, so it does not
restore a node or edge deleted or changed in Neo4j, nor remove one added there
(nor anything derived from them: the reach and level indexes).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lineage.graph import level_index, reach_index
from lineage.graph import rows as texts
from lineage.graph.compare import Comparison
from lineage.graph.connect import Graph
from lineage.graph.reach import indexed_reach, walked_reach
from lineage.graph.scan import reference_edges, scan
from lineage.model import WALK_BUDGET, EdgeKind, LineageNode, NodeKind
from lineage.store import row_rules
from lineage.store.rows import MlmdRows

EdgeKey = tuple[str, str, str]  # (source, target, kind)
KINDS = sorted(k.value for k in EdgeKind)  # the projection's edges; not the index's
REPAIR = "lineage graph sync --full"


@dataclass
class VerifyReport:
    nodes: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (store, neo4j)
    edges: dict[str, tuple[int, int]] = field(default_factory=dict)
    sampled: int = 0
    missing: list[EdgeKey] = field(default_factory=list)  # in the store, not in Neo4j
    extra: list[EdgeKey] = field(default_factory=list)  # in Neo4j, not in the store
    index_checked: int = 0
    index_wrong: list[str] = field(default_factory=list)  # starts whose index answer differs
    rows_wrong: list[str] = field(default_factory=list)  # nodes whose stored row differs
    levels_wrong: list[str] = field(default_factory=list)  # keyed nodes with wrong keys
    compared: Comparison = field(default_factory=Comparison)  # every node and edge

    @property
    def ok(self) -> bool:
        counts = list(self.nodes.values()) + list(self.edges.values())
        return (
            all(a == b for a, b in counts)
            and not self.missing
            and not self.extra
            and not self.index_wrong
            and not self.rows_wrong
            and not self.levels_wrong
            and self.compared.ok
        )

    def differences(self) -> list[str]:
        out = [
            f"{what} {kind}: store {a}, neo4j {b}"
            for what, table in (("nodes", self.nodes), ("edges", self.edges))
            for kind, (a, b) in sorted(table.items())
            if a != b
        ]
        out += self.compared.differences()
        out += [f"edge not in the store: {s} -{k}-> {t}" for s, t, k in self.extra[:20]]
        out += [f"reach index differs from the walk from {i}" for i in self.index_wrong[:20]]
        out += [f"stored row differs from the node's properties: {i}" for i in self.rows_wrong]
        out += [f"level index keys wrong on the edges of {i}" for i in self.levels_wrong]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "nodes": {k: {"store": a, "neo4j": b} for k, (a, b) in sorted(self.nodes.items())},
            "edges": {k: {"store": a, "neo4j": b} for k, (a, b) in sorted(self.edges.items())},
            "sampled_edges": self.sampled,
            "missing_in_neo4j": [list(e) for e in self.missing],
            "not_in_store": [list(e) for e in self.extra],
            "index_checked": self.index_checked,
            "index_wrong": list(self.index_wrong),
            "rows_wrong": list(self.rows_wrong),
            "levels_wrong": list(self.levels_wrong),
            "compared": self.compared.as_dict(),
            "differences": self.differences(),
            "repair": None if self.ok else REPAIR,
        }

    def advice(self) -> str:
        """What to run, and why the incremental sync would not do."""
        return (
            f"run `{REPAIR}` to rebuild the projection from the store (an incremental "
            "`lineage graph sync` projects only what the store recorded since the last "
            "sync: it does not restore what was changed or deleted in Neo4j)"
        )


def _store_side(
    graph: Graph, rows: MlmdRows, compare: Comparison
) -> tuple[Counter[str], Counter[str], set[int]]:
    """Counts of the store's nodes and edges by kind, and a hash of each edge (to name
    Neo4j's extra edges); every node and edge compared with Neo4j's, page by page, on
    the way."""
    nodes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    edges: set[int] = set()
    tasks: dict[str, LineageNode] = {}
    for batch in scan(rows):
        for node in batch.nodes:
            nodes[node.kind.value] += 1
            if node.kind is NodeKind.TASK:
                # Only what the reference edges need: a 1M-node store holds many tasks.
                tasks[node.id] = _slim(node)
        compare.check_nodes(graph, batch.nodes)
        compare.check_edges(graph, batch.edges)
        kinds.update(e.kind.value for e in batch.edges)
        edges.update(hash((e.source, e.target, e.kind.value)) for e in batch.edges)
    references = reference_edges(tasks)
    compare.check_edges(graph, references)
    kinds.update(e.kind.value for e in references)
    edges.update(hash((e.source, e.target, e.kind.value)) for e in references)
    return nodes, kinds, edges


def _slim(task: LineageNode) -> LineageNode:
    kept = {k: task.properties[k] for k in _REFERENCES if k in task.properties}
    return LineageNode(task.id, task.kind, "", "", kept)


_REFERENCES = (row_rules.CACHED_FROM, row_rules.PARENT_TASK)


def verify(
    graph: Graph, rows: MlmdRows, sample: int = 500, seed: int = 0, index_sample: int = 20
) -> VerifyReport:
    report = VerifyReport()
    store_nodes, store_edge_counts, store_edges = _store_side(graph, rows, report.compared)
    neo_nodes = {
        r["kind"]: int(r["n"])
        for r in graph.run(
            "MATCH (n:Node) RETURN n.kind AS kind, count(*) AS n", "counting nodes by kind"
        )
    }
    neo_edges = {
        r["kind"]: int(r["n"])
        for r in graph.run(
            "MATCH (:Node)-[e]->(:Node) WHERE type(e) IN $kinds "
            "RETURN type(e) AS kind, count(*) AS n",
            "counting edges by kind",
            kinds=KINDS,
        )
    }
    for kind in sorted(set(store_nodes) | set(neo_nodes)):
        report.nodes[kind] = (store_nodes.get(kind, 0), neo_nodes.get(kind, 0))
    for kind in sorted(set(store_edge_counts) | set(neo_edges)):
        report.edges[kind] = (store_edge_counts.get(kind, 0), neo_edges.get(kind, 0))

    report.missing = list(report.compared.edges_missing)
    theirs = graph.run(
        "MATCH (a:Node)-[e]->(b:Node) WHERE type(e) IN $kinds "
        "WITH a, e, b ORDER BY rand() LIMIT $n "
        "RETURN a.id AS s, b.id AS t, type(e) AS kind",
        "sampling edges",
        n=sample,
        kinds=KINDS,
    )
    report.extra = sorted(
        (r["s"], r["t"], r["kind"])
        for r in theirs
        if hash((r["s"], r["t"], r["kind"])) not in store_edges
    )
    report.sampled = report.compared.edges_checked + len(theirs)
    if reach_index.ready(graph):
        check_index(graph, report, index_sample)
    report.rows_wrong = texts.stale(graph)
    report.levels_wrong = level_index.wrong(graph)
    return report


def check_index(graph: Graph, report: VerifyReport, sample: int) -> None:
    """Compare the index with the walk for a sample of starts that feed something,
    the busiest first (hubs are where a wrong shortcut hides most answers)."""
    starts = graph.run(
        f"MATCH (s:Node)-[:{reach_index.FEEDS_MODEL}|{reach_index.FEEDS_RUN}]->() WHERE NOT s:Task "
        "WITH s, count(*) AS fan ORDER BY fan DESC, s.id LIMIT $n RETURN s.id AS id",
        "sampling reach index starts",
        n=sample,
    )
    for record in starts:
        start = record["id"]
        # The walk the index stands for (the start left out, as impact leaves it out).
        walked = walked_reach(graph, [start], WALK_BUDGET)
        indexed = indexed_reach(graph, [start])
        if walked.truncated or indexed != (list(walked.models), list(walked.runs)):
            report.index_wrong.append(start)
        report.index_checked += 1
