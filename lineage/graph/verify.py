"""Checking the projection against the store: counts by kind, a sample of edges, the
reach index against the walk it stands for, and what readers fetch instead of the
properties themselves (stored node rows, the level index's keys).

The store side is computed with the same scan and rules the sync uses, so a
difference means Neo4j is behind (a sync is due) or was changed by hand. The
index (``lineage.graph.hops``) is derived inside Neo4j: for a sample of nodes
that feed a model, the models and runs it gives must equal those a walk of the
data flow gives.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lineage.graph import hops, levels
from lineage.graph import rows as texts
from lineage.graph.connect import Graph
from lineage.graph.impact import indexed_reach, walked_reach
from lineage.graph.scan import reference_edges, scan
from lineage.model import EdgeKind, NodeKind
from lineage.query.mlmd_rows import MlmdRows
from lineage.query.traverse import WALK_BUDGET
from lineage.query.types import LineageNode

EdgeKey = tuple[str, str, str]  # (source, target, kind)
KINDS = sorted(k.value for k in EdgeKind)  # the projection's edges; not the index's


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
        )

    def differences(self) -> list[str]:
        out = [
            f"{what} {kind}: store {a}, neo4j {b}"
            for what, table in (("nodes", self.nodes), ("edges", self.edges))
            for kind, (a, b) in sorted(table.items())
            if a != b
        ]
        out += [f"edge missing in neo4j: {s} -{k}-> {t}" for s, t, k in self.missing[:20]]
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
            "differences": self.differences(),
        }


def _store_side(rows: MlmdRows) -> tuple[Counter[str], set[EdgeKey]]:
    nodes: Counter[str] = Counter()
    edges: set[EdgeKey] = set()
    tasks: dict[str, LineageNode] = {}
    for batch in scan(rows):
        for node in batch.nodes:
            nodes[node.kind.value] += 1
            if node.kind is NodeKind.TASK:
                tasks[node.id] = node
        edges.update((e.source, e.target, e.kind.value) for e in batch.edges)
    edges.update((e.source, e.target, e.kind.value) for e in reference_edges(tasks))
    return nodes, edges


def verify(
    graph: Graph, rows: MlmdRows, sample: int = 500, seed: int = 0, index_sample: int = 20
) -> VerifyReport:
    store_nodes, store_edges = _store_side(rows)
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
    store_edge_counts = Counter(kind for _, _, kind in store_edges)
    report = VerifyReport()
    for kind in sorted(set(store_nodes) | set(neo_nodes)):
        report.nodes[kind] = (store_nodes.get(kind, 0), neo_nodes.get(kind, 0))
    for kind in sorted(set(store_edge_counts) | set(neo_edges)):
        report.edges[kind] = (store_edge_counts.get(kind, 0), neo_edges.get(kind, 0))

    pick = random.Random(seed)
    ours = sorted(store_edges)
    chosen = pick.sample(ours, min(sample, len(ours)))
    found = graph.run(
        "UNWIND $rows AS r MATCH (a:Node {id: r[0]})-[e]->(b:Node {id: r[1]}) "
        "WHERE type(e) = r[2] RETURN r AS row",
        "checking sampled edges",
        rows=[list(e) for e in chosen],
    )
    present = {tuple(r["row"]) for r in found}
    report.missing = [e for e in chosen if e not in present]
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
        if (r["s"], r["t"], r["kind"]) not in store_edges
    )
    report.sampled = len(chosen) + len(theirs)
    if hops.ready(graph):
        check_index(graph, report, index_sample)
    report.rows_wrong = texts.stale(graph)
    report.levels_wrong = levels.wrong(graph)
    return report


def check_index(graph: Graph, report: VerifyReport, sample: int) -> None:
    """Compare the index with the walk for a sample of starts that feed something,
    the busiest first (hubs are where a wrong shortcut hides most answers)."""
    starts = graph.run(
        f"MATCH (s:Node)-[:{hops.FEEDS_MODEL}|{hops.FEEDS_RUN}]->() WHERE NOT s:Task "
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
