"""The Neo4j LineageReader: Cypher over the projection.

Walks expand one level per query (``UNWIND`` the frontier, match its edges), so
a walk is bounded by the shared traversal's depth and limits, never by an
unbounded variable-length pattern; a level wider than the room left is cut in
Neo4j (``lineage.query.readers.neo4j.capped``). Impact walks the reach index
(``lineage.graph.reach_index``) when the projection has it, else the data flow in one
variable-length query whose planner prunes repeated nodes (``lineage.query.readers.neo4j.impact``).
Neo4j Community has no APOC, and none is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

from lineage.graph import reach_index, rows
from lineage.graph.connect import Graph
from lineage.graph.reach import indexed_reach, walked_reach
from lineage.model import Direction, EdgeKind, LineageEdge, LineageNode
from lineage.query import impact
from lineage.query.paging import ReachPage
from lineage.query.port import CappedExpansion, Expansion, LineageReader, Reach
from lineage.query.readers.neo4j import capped
from lineage.query.readers.neo4j import impact as native
from lineage.query.readers.neo4j.cypher import NODE_MAP, rel_types
from lineage.query.readers.neo4j.prefetch import prefetch
from lineage.query.types import LineageQuery
from lineage.store import row_rules

PREFETCH_MIN, PREFETCH_MAX = 5_000, 50_000  # nodes fetched ahead of a walk


class Neo4jReader:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @property
    def backend(self) -> str:
        return "neo4j"

    def close(self) -> None:
        self.graph.close()

    def around(self, start: str, query: LineageQuery) -> LineageReader:
        """The neighbourhood of a walk fetched in one query (see ``prefetch``)."""
        cap = min(max(4 * query.limit, PREFETCH_MIN), PREFETCH_MAX)
        return prefetch(self, start, query, cap)

    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        if not ids:
            return {}
        # Compact rows first (one Bolt value per node); node maps only if one fails to parse.
        # One record holding a list: the driver's per-record cost dwarfs a short string's.
        texts = self.graph.run(
            "UNWIND $ids AS id MATCH (n:Node {id: id}) "
            f"RETURN collect({rows.node_text('n')}) AS ns",
            "reading nodes",
            ids=list(dict.fromkeys(ids)),
        )
        found: dict[str, LineageNode] = {}
        for text in texts[0]["ns"] if texts else []:
            node = rows.parse_node(text)
            if node is None:
                break
            found[node.id] = node
        else:
            return found
        records = self.graph.run(
            f"UNWIND $ids AS id MATCH (n:Node {{id: id}}) RETURN n {NODE_MAP} AS n",
            "reading nodes",
            ids=list(dict.fromkeys(ids)),
        )
        return {r["n"]["id"]: row_rules.from_row(r["n"]) for r in records}

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        out = Expansion()
        if not ids or not edge_kinds:
            return out
        types = rel_types(edge_kinds)
        ways = (
            [Direction.UPSTREAM, Direction.DOWNSTREAM]
            if direction is Direction.BOTH
            else [direction]
        )
        for way in ways:
            if not self._expand_compact(ids, way, types, as_of_ms, out):
                self._expand_maps(ids, way, types, as_of_ms, out)
        return out

    @staticmethod
    def _pattern(way: Direction, types: str) -> tuple[str, str, str]:
        if way is Direction.UPSTREAM:
            return f"(n)<-[r:{types}]-(m:Node)", "m", "n"
        return f"(n)-[r:{types}]->(m:Node)", "n", "m"

    def _expand_compact(
        self,
        ids: Sequence[str],
        way: Direction,
        types: str,
        as_of_ms: int | None,
        out: Expansion,
    ) -> bool:
        """One record of compact rows (see ``lineage.graph.rows``); False if one fails to parse,
        leaving ``out`` untouched."""
        pattern, source, target = self._pattern(way, types)
        records = self.graph.run(
            f"UNWIND $ids AS id MATCH (n:Node {{id: id}}) MATCH {pattern} "
            "WHERE $as_of IS NULL OR m.created_ms <= $as_of "
            f"RETURN collect({rows.edge_text(source, target, 'r')}) AS edges, "
            f"[y IN collect(DISTINCT m) | {rows.node_text('y')}] AS far",
            "expanding a lineage level",
            ids=list(ids),
            as_of=as_of_ms,
        )
        if not records:
            return True
        edges, nodes = rows.parse_edges(records[0]["edges"]), rows.parse_nodes(records[0]["far"])
        if edges is None or nodes is None:
            return False
        out.edges.extend(edges)
        for node_id, node in nodes.items():
            out.nodes.setdefault(node_id, node)
        return True

    def _expand_maps(
        self,
        ids: Sequence[str],
        way: Direction,
        types: str,
        as_of_ms: int | None,
        out: Expansion,
    ) -> None:
        pattern, source, target = self._pattern(way, types)
        records = self.graph.run(
            f"UNWIND $ids AS id MATCH (n:Node {{id: id}}) MATCH {pattern} "
            "WHERE $as_of IS NULL OR m.created_ms <= $as_of "
            f"RETURN {source}.id AS s, {target}.id AS t, type(r) AS kind, r.key AS key, "
            f"m {NODE_MAP} AS m",
            "expanding a lineage level",
            ids=list(ids),
            as_of=as_of_ms,
        )
        for r in records:
            out.edges.append(LineageEdge(r["s"], r["t"], EdgeKind(r["kind"]), r["key"]))
            far = r["m"]
            if far["id"] not in out.nodes:
                out.nodes[far["id"]] = row_rules.from_row(far)

    def expand_capped(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None,
        known: Sequence[str],
        take: int,
    ) -> CappedExpansion | None:
        """A level cut in Neo4j (see ``lineage.query.readers.neo4j.capped``)."""
        return capped.expand_capped(self.graph, ids, direction, edge_kinds, as_of_ms, known, take)

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        if not digest:
            return []
        records = self.graph.run(
            f"MATCH (n:Image {{digest: $d}}) RETURN n {NODE_MAP} AS n "
            f"UNION MATCH (n:Node) WHERE n.id STARTS WITH $d AND n:Image RETURN n {NODE_MAP} AS n",
            "finding images",
            d=digest,
        )
        found = {r["n"]["id"]: row_rules.from_row(r["n"]) for r in records}
        return [
            found[k] for k in sorted(found) if as_of_ms is None or found[k].created_ms <= as_of_ms
        ]

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        if as_of_ms is not None:
            # A time bound on every node of every path defeats the planner's pruning;
            # the level-by-level walk honours it exactly.
            return self._walked_reach(starts, as_of_ms, budget)
        if reach_index.ready(self.graph):
            indexed = indexed_reach(self.graph, starts)
            if indexed is not None:
                return Reach(tuple(indexed[0]), tuple(indexed[1]))
        return Reach(*walked_reach(self.graph, starts, budget))

    def reach_page(
        self,
        starts: Sequence[str],
        after_model: str | None,
        after_run: str | None,
        first: int,
        count: bool,
        budget: int,
        *,
        count_runs: bool = True,
    ) -> ReachPage | None:
        """An impact page from Neo4j itself (see ``lineage.query.readers.neo4j.impact``)."""
        if count:
            if reach_index.ready(self.graph):
                page = native.indexed_page(
                    self.graph, starts, after_model, after_run, first, count_runs
                )
                if page is not None:
                    return page
            return native.counted_page(self.graph, starts, after_model, after_run, first, budget)
        indexed = reach_index.ready(self.graph)
        return native.uncounted_page(self.graph, starts, after_model, after_run, first, indexed)

    def _walked_reach(self, starts: Sequence[str], as_of_ms: int, budget: int) -> Reach:
        models, tasks, truncated = impact.downstream(self, starts, as_of_ms, budget)
        runs: set[str] = set()
        for chunk in range(0, len(tasks), 5000):
            step = self.expand(
                tasks[chunk : chunk + 5000],
                Direction.DOWNSTREAM,
                frozenset({EdgeKind.PART_OF}),
                as_of_ms,
            )
            runs.update(e.target for e in step.edges if step.nodes[e.target].kind.value == "Run")
        return Reach(tuple(models), tuple(sorted(runs)), truncated)
