"""A walk's level cut inside Neo4j: only the first new nodes, in id order, come back.

The shared walk keeps, at the level where it reaches its node limit, the new
nodes first in id order. From a hub (a dataset every run reads) that level is
as wide as the store; fetching all of it to keep 10,000 costs most of the walk.
Here Neo4j sorts the level's new far nodes and sends the first ``take``, the
edges to them and to nodes the walk already holds, and how many of each it left
out (the walk reports what it saw, and must report the same either way).

A level from one keyed node (``lineage.graph.level_index``, a hub) is read from the
level index instead, in far-id order, without sorting or counting the level.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Literal

from lineage.graph import level_index, rows
from lineage.graph.connect import Graph
from lineage.model import Direction, EdgeKind, LineageEdge, LineageNode
from lineage.query.port import CappedExpansion, Expansion
from lineage.query.readers.neo4j.cypher import rel_types


def _query(direction: Direction, types: str) -> str:
    if direction is Direction.UPSTREAM:
        out, back, ends = f"(n)<-[r:{types}]-(m:Node)", f"(m)-[r:{types}]->(n:Node)", ("m", "n")
    else:
        out, back, ends = f"(n)-[r:{types}]->(m:Node)", f"(m)<-[r:{types}]-(n:Node)", ("n", "m")
    edge = rows.edge_text(ends[0], ends[1], "r")
    level = (
        f"UNWIND $ids AS id MATCH (n:Node {{id: id}}) MATCH {out} "
        "WHERE ($as_of IS NULL OR m.created_ms <= $as_of) "
    )
    return (
        f"CALL () {{ {level} AND NOT m.id IN $known "
        "WITH DISTINCT m ORDER BY m.id LIMIT $take RETURN collect(m) AS top } "
        f"CALL () {{ {level} RETURN count(r) AS edges_total, "
        "count(DISTINCT CASE WHEN NOT m.id IN $known THEN m END) AS new_total, "
        f"collect(CASE WHEN m.id IN $known THEN {edge} END) AS old_edges }} "
        f"CALL (top) {{ UNWIND top AS m MATCH {back} WHERE n.id IN $ids "
        f"RETURN collect({edge}) AS new_edges }} "
        f"RETURN old_edges + new_edges AS edges, [y IN top | {rows.node_text('y')}] AS far, "
        "edges_total, new_total"
    )


def expand_capped(
    graph: Graph,
    ids: Sequence[str],
    direction: Direction,
    edge_kinds: frozenset[EdgeKind],
    as_of_ms: int | None,
    known: Sequence[str],
    take: int,
) -> CappedExpansion | None:
    """The cut level, or None (a row that does not parse, or BOTH directions): the walk
    then expands the level whole."""
    if direction is Direction.BOTH or not ids or not edge_kinds:
        return None
    if len(ids) == 1 and as_of_ms is None:
        keyed = _keyed(graph, ids[0], direction, edge_kinds, known, take)
        if keyed is not False:
            return keyed
    types = rel_types(edge_kinds)
    records = graph.run(
        _query(direction, types),
        "expanding a lineage level (cut)",
        ids=list(ids),
        as_of=as_of_ms,
        known=list(known),
        take=take,
    )
    if not records:
        return CappedExpansion(Expansion())
    record = records[0]
    return _parsed(record["edges"], record["far"], record["edges_total"], record["new_total"])


def _keyed(
    graph: Graph,
    node_id: str,
    direction: Direction,
    edge_kinds: frozenset[EdgeKind],
    known: Sequence[str],
    take: int,
) -> CappedExpansion | Literal[False] | None:
    """The level of one node read from the level index; False when the node is not keyed
    (or has parallel edges) and the level must be sorted."""
    text = level_index.cut_query(
        direction,
        sorted(edge_kinds),
        rows.node_text("m"),
        rows.edge_text("a", "b", "r"),
        rows.link_text("r"),
    )
    records = graph.run(
        text, "expanding a lineage level (level index)", id=node_id, known=list(known), take=take
    )
    if not records:
        return False
    record = records[0]
    streams: list[list[tuple[LineageNode, tuple[EdgeKind, str | None]]]] = []
    for node_texts, link_texts in zip(record["fars"], record["links"], strict=True):
        if len(node_texts) != len(link_texts):
            return None
        stream = []
        for node_text, link_text in zip(node_texts, link_texts, strict=True):
            node, link = rows.parse_node(node_text), rows.parse_link(link_text)
            if node is None or link is None:
                return None
            stream.append((node, link))
        if stream:
            streams.append(stream)
    # Each type's list is in far-id order; no far node is in two (no parallel edges).
    merged = streams[0] if len(streams) == 1 else list(heapq.merge(*streams, key=_far_id))
    edges = rows.parse_edges(record["edges"])
    if edges is None:
        return None
    nodes: dict[str, LineageNode] = {}
    down = direction is Direction.DOWNSTREAM
    for node, (kind, key) in merged[:take]:
        nodes[node.id] = node
        source, target = (node_id, node.id) if down else (node.id, node_id)
        edges.append(LineageEdge(source, target, kind, key))
    return CappedExpansion(
        Expansion(edges=edges, nodes=nodes),
        more_nodes=int(record["new_total"]) - len(nodes),
        more_edges=int(record["edges_total"]) - len(edges),
    )


def _far_id(pair: tuple[LineageNode, tuple[EdgeKind, str | None]]) -> str:
    return pair[0].id


def _parsed(
    edge_texts: list[str], node_texts: list[str], edges_total: int, new_total: int
) -> CappedExpansion | None:
    """The cut level from its row strings and the counts of the whole level."""
    edges, nodes = rows.parse_edges(edge_texts), rows.parse_nodes(node_texts)
    if edges is None or nodes is None:
        return None
    return CappedExpansion(
        Expansion(edges=edges, nodes=nodes),
        more_nodes=int(new_total) - len(nodes),
        more_edges=int(edges_total) - len(edges),
    )
