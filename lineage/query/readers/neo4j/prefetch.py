"""One round trip per walk: fetch the neighbourhood a walk can reach, then walk it in memory.

A level-by-level walk costs one Bolt round trip per level. Instead, one Cypher
query collects every node within ``depth`` edges of the start (the planner's
pruning breadth-first expand visits each node once) and every edge entering
(upstream) or leaving (downstream) those nodes. The shared walk then runs
unchanged over that copy, so answers stay identical to a level-by-level walk:
any node the walk expands lies within ``depth`` of the start, and all its
edges in that direction were fetched. Past ``cap`` nodes, or for ids outside
the copy, the walk falls back to the live reader.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lineage.graph import rows
from lineage.graph.connect import Graph
from lineage.model import Direction, EdgeKind, LineageEdge, LineageNode
from lineage.query import gcpause
from lineage.query.port import CappedExpand, CappedExpansion, Expansion, LineageReader, Reach
from lineage.query.readers.neo4j.cypher import NODE_MAP, rel_types
from lineage.query.types import LineageQuery
from lineage.store import row_rules


class Live(LineageReader, CappedExpand, Protocol):
    """The reader a copy is fetched through and falls back to (the Neo4j reader): typed
    here by what the copy asks of it, so this module does not import the reader."""

    @property
    def graph(self) -> Graph: ...


class Prefetched:
    """A LineageReader over a fetched neighbourhood, backed by the live reader."""

    def __init__(self, live: Live, kinds: frozenset[EdgeKind]) -> None:
        self.live = live
        self.kinds = kinds
        self.covered: dict[Direction, set[str]] = {d: set() for d in Direction}
        self.edges: dict[Direction, dict[str, list[LineageEdge]]] = {
            d: defaultdict(list) for d in Direction
        }
        self.node_rows: dict[str, LineageNode] = {}

    @property
    def backend(self) -> str:
        return self.live.backend

    def close(self) -> None:
        pass

    def fetch(self, start: str, direction: Direction, depth: int, cap: int) -> bool:
        """Fill the copy for one direction; False when the neighbourhood exceeds ``cap``.

        One record comes back: the start, the ids whose edges were all fetched, the
        edges, and each far node once (far nodes are the whole neighbourhood but the
        start, plus the ring just past the depth). Nodes and edges travel as compact
        strings (``lineage.graph.rows``); should one not parse, the same query is
        asked again with node maps.
        """
        with gcpause.paused():
            done = self._fetch(start, direction, depth, cap, compact=True)
            if done is None:
                done = self._fetch(start, direction, depth, cap, compact=False)
        return bool(done)

    def _fetch(
        self, start: str, direction: Direction, depth: int, cap: int, compact: bool
    ) -> bool | None:
        records = self.live.graph.run(
            _neighbourhood_query(self.kinds, direction, depth, compact),
            "fetching a lineage neighbourhood",
            start=start,
            over=cap + 1,
            cap=cap,  # past it nothing comes back: the walk goes level by level instead
        )
        if not records:
            return False
        record = records[0]
        if int(record["n"]) < 0:
            row = record["start"]
            hub = rows.parse_node(row) if compact else row_rules.from_row(row)
            if hub is None:
                return None
            self.node_rows.setdefault(hub.id, hub)
            return False
        if int(record["n"]) > cap:
            return False
        parsed = _parse(record, compact)
        if parsed is None:
            return None
        nodes, edges = parsed
        for node_id, node in nodes.items():
            self.node_rows.setdefault(node_id, node)
        index = self.edges[direction]
        up = direction is Direction.UPSTREAM
        for edge in edges:
            index[edge.target if up else edge.source].append(edge)
        self.covered[direction].update(record["covered"])
        return True

    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        found = {i: self.node_rows[i] for i in ids if i in self.node_rows}
        rest = [i for i in ids if i not in found]
        if rest:
            found.update(self.live.nodes(rest))
        return found

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        if not edge_kinds <= self.kinds:
            return self.live.expand(ids, direction, edge_kinds, as_of_ms)
        ways = (
            [Direction.UPSTREAM, Direction.DOWNSTREAM]
            if direction is Direction.BOTH
            else [direction]
        )
        out = Expansion()
        for way in ways:
            rest = [i for i in ids if i not in self.covered[way]]
            if rest:
                fetched = self.live.expand(rest, way, edge_kinds, as_of_ms)
                out.edges.extend(fetched.edges)
                out.nodes.update(fetched.nodes)
            for node_id in ids:
                if node_id not in self.covered[way]:
                    continue
                for edge in self.edges[way].get(node_id, []):
                    if edge.kind not in edge_kinds:
                        continue
                    far_id = edge.source if way is Direction.UPSTREAM else edge.target
                    far = self.node_rows[far_id]
                    if as_of_ms is not None and far.created_ms > as_of_ms:
                        continue
                    out.edges.append(edge)
                    out.nodes[far_id] = far
        return out

    def expand_capped(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None,
        known: Sequence[str],
        take: int,
    ) -> CappedExpansion | None:
        """None (expand the copy whole, it is at hand) when the copy covers the level;
        else the live reader cuts it."""
        if edge_kinds <= self.kinds and all(i in self.covered[direction] for i in ids):
            return None
        return self.live.expand_capped(ids, direction, edge_kinds, as_of_ms, known, take)

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        return self.live.find_images(digest, as_of_ms)

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        return self.live.reach(starts, as_of_ms, budget)

    def around(self, start: str, query: LineageQuery) -> Prefetched:
        return self


def _neighbourhood_query(
    kinds: frozenset[EdgeKind], direction: Direction, depth: int, compact: bool
) -> str:
    """The one query of ``Prefetched.fetch``: the start, then the neighbourhood, or the
    start's row alone (n = -1) when its degree is over the cap."""
    types = rel_types(kinds)
    if direction is Direction.UPSTREAM:
        reach, step, ends = f"<-[:{types}*0..{depth}]-", f"<-[r:{types}]-", ("x", "m")
        degree = f"COUNT {{ (s)<-[:{types}]-() }}"
    else:
        reach, step, ends = f"-[:{types}*0..{depth}]->", f"-[r:{types}]->", ("m", "x")
        degree = f"COUNT {{ (s)-[:{types}]->() }}"
    if compact:
        start_expr, far_expr = rows.node_text("s"), rows.node_text("y")
        edge_expr = rows.edge_text(ends[0], ends[1], "r")
    else:
        start_expr, far_expr = f"s {NODE_MAP}", f"y {NODE_MAP}"
        edge_expr = f"[{ends[0]}.id, {ends[1]}.id, type(r), r.key]"
    return (
        # A start with more edges than the cap (a hub) is known at once from its
        # degree, which Neo4j keeps: no need to collect cap + 1 nodes to learn it.
        # Its row comes back alone (n = -1), so the walk's start lookup is answered.
        f"MATCH (s:Node {{id: $start}}) WHERE {degree} > $cap "
        f"RETURN -1 AS n, {start_expr} AS start, [] AS covered, [] AS edges, [] AS far "
        "UNION ALL "
        f"MATCH (s:Node {{id: $start}}) WHERE {degree} <= $cap "
        f"CALL (s) {{ MATCH (s){reach}(m:Node) RETURN DISTINCT m LIMIT $over }} "
        "WITH s, collect(m) AS ms WITH s, ms, size(ms) AS n WHERE n <= $cap UNWIND ms AS m "
        f"OPTIONAL MATCH (m){step}(x:Node) "
        f"WITH n, s, collect(DISTINCT m.id) AS covered, collect({edge_expr}) AS edges, "
        "collect(DISTINCT x) AS xs "
        f"RETURN n, {start_expr} AS start, covered, edges, "
        f"[y IN xs | {far_expr}] AS far"
    )


def _parse(
    record: Mapping[str, Any], compact: bool
) -> tuple[dict[str, LineageNode], list[LineageEdge]] | None:
    """The nodes and edges of a fetched neighbourhood; None when a compact row does not parse."""
    if compact:
        parsed_nodes = rows.parse_nodes((record["start"], *record["far"]))
        parsed_edges = rows.parse_edges(record["edges"])
        if parsed_nodes is None or parsed_edges is None:
            return None
        return parsed_nodes, parsed_edges
    maps = (record["start"], *record["far"])
    nodes = {row["id"]: row_rules.from_row(row) for row in maps}
    edges = [
        LineageEdge(source, target, EdgeKind(kind), key)
        for source, target, kind, key in record["edges"]
        if kind is not None
    ]
    return nodes, edges


def prefetch(live: Live, start: str, query: LineageQuery, cap: int) -> Prefetched:
    copy = Prefetched(live, query.edge_kinds)
    ways = (
        [Direction.UPSTREAM, Direction.DOWNSTREAM]
        if query.direction is Direction.BOTH
        else [query.direction]
    )
    for way in ways:
        copy.fetch(start, way, query.depth, cap)
    return copy
