"""The level index: a dense node's edges, readable in id order of their far ends.

A walk cut at its node limit keeps a level's first new nodes in id order
(``lineage.query.traverse``). From a hub (a dataset every run reads, an image
every task ran) that level is as wide as the store, and having Neo4j sort it
costs most of a 10,000-node answer: about 900 ms for a 100,000-wide level at
1M nodes. So every edge of a dense node carries its two end ids, ``ls`` (source)
and ``lt`` (target), and a range index per relationship type on ``(ls, lt)``
and on ``(lt, ls)`` hands Neo4j the level's edges already in far-id order: it
reads the first ``take`` and stops. The level's edge count is the node's degree,
which Neo4j keeps for dense nodes, so nothing else reads the whole level.

Only dense nodes (``DENSE`` edges or more in one direction) are keyed: that is
where a cut pays, and the keys cost two strings per edge. The sync marks a node
(``lvl_out`` / ``lvl_in``) in the transaction that makes it cross the threshold
and keys all its edges that way then; edges written later to or from a marked
node are keyed as they are written. Marks are never removed (the store is
insert-only), so a marked node's edges that way are always all keyed.

Two edges between the same two nodes (one artifact fed to two inputs of one
task) make the number of far nodes differ from the degree. A marked node with
such edges is marked ``lvl_out_par`` / ``lvl_in_par`` as well, and its cut
levels take the general query (``lineage.graph.capped``).
"""

from __future__ import annotations

from collections.abc import Sequence

import neo4j

from lineage.graph.connect import Graph
from lineage.model import EdgeKind
from lineage.query.types import Direction, LineageEdge

# Edges in one direction from which a node is keyed. A level narrower than this is
# sorted quickly enough by the general query; tests lower it to key small stores.
DENSE = 1_000
VERSION = 1  # bump to make the next sync key the projection again (``build``)
STATE_FIELD = "levels"  # the SyncState property holding the VERSION the projection carries
ALL = "|".join(sorted(k.value for k in EdgeKind))

# (mark, parallel mark, near-end key, far-end key) per direction of a walk.
_SIDES = {
    Direction.DOWNSTREAM: ("lvl_out", "lvl_out_par", "ls", "lt"),
    Direction.UPSTREAM: ("lvl_in", "lvl_in_par", "lt", "ls"),
}


def schema() -> list[str]:
    """Two range indexes per relationship type (relationship indexes are per type);
    an index holds only the edges that carry both keys, the dense nodes' edges."""
    statements = []
    for kind in EdgeKind:
        name = kind.value.lower()
        statements += [
            f"CREATE RANGE INDEX lineage_level_out_{name} IF NOT EXISTS "
            f"FOR ()-[r:{kind.value}]-() ON (r.ls, r.lt)",
            f"CREATE RANGE INDEX lineage_level_in_{name} IF NOT EXISTS "
            f"FOR ()-[r:{kind.value}]-() ON (r.lt, r.ls)",
        ]
    return statements


# Edges just written that touch a marked node: key them, and mark a parallel pair.
_KEY_NEW = (
    "UNWIND $pairs AS p MATCH (a:Node {id: p[0]}) MATCH (b:Node {id: p[1]}) "
    "WITH a, b WHERE coalesce(a.lvl_out, false) OR coalesce(b.lvl_in, false) "
    f"MATCH (a)-[r:{ALL}]->(b) SET r.ls = a.id, r.lt = b.id "
    "WITH a, b, count(r) AS c WHERE c > 1 "
    "FOREACH (_ IN CASE WHEN a.lvl_out THEN [1] ELSE [] END | SET a.lvl_out_par = true) "
    "FOREACH (_ IN CASE WHEN b.lvl_in THEN [1] ELSE [] END | SET b.lvl_in_par = true)"
)


def _crossing(direction: Direction) -> str:
    """Mark the given nodes that now have ``$dense`` edges this way and were not marked;
    key all their edges that way, and note parallel edges."""
    mark, par, _, _ = _SIDES[direction]
    if direction is Direction.DOWNSTREAM:
        degree, edges = f"COUNT {{ (a)-[:{ALL}]->() }}", f"(a)-[r:{ALL}]->(b)"
        keys = "r.ls = a.id, r.lt = b.id"
    else:
        degree, edges = f"COUNT {{ (a)<-[:{ALL}]-() }}", f"(a)<-[r:{ALL}]-(b)"
        keys = "r.ls = b.id, r.lt = a.id"
    return (
        f"UNWIND $ids AS id MATCH (a:Node {{id: id}}) WHERE a.{mark} IS NULL "
        f"AND {degree} >= $dense SET a.{mark} = true "
        f"WITH a CALL (a) {{ MATCH {edges} SET {keys} "
        "WITH b, count(r) AS c WHERE c > 1 RETURN count(b) AS parallel } "
        f"FOREACH (_ IN CASE WHEN parallel > 0 THEN [1] ELSE [] END | SET a.{par} = true) "
        "RETURN count(a) AS marked"
    )


def update(tx: neo4j.ManagedTransaction, edges: Sequence[LineageEdge]) -> int:
    """Keep the index up to date with these written edges (in their transaction);
    returns how many nodes were newly marked. Running it again changes nothing."""
    if not edges:
        return 0
    pairs = sorted({(e.source, e.target) for e in edges})
    tx.run(_KEY_NEW, pairs=[list(p) for p in pairs]).consume()
    marked = 0
    for direction, ids in (
        (Direction.DOWNSTREAM, sorted({s for s, _ in pairs})),
        (Direction.UPSTREAM, sorted({t for _, t in pairs})),
    ):
        record = tx.run(_crossing(direction), ids=ids, dense=DENSE).single()
        marked += int(record["marked"]) if record else 0
    return marked


def build(graph: Graph) -> int:
    """Key a projection synced before this index existed, one dense node per
    transaction (a hub's edges are many); returns how many nodes were marked."""
    marked = 0
    for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
        arrow = f"(a)-[:{ALL}]->()" if direction is Direction.DOWNSTREAM else f"(a)<-[:{ALL}]-()"
        mark = _SIDES[direction][0]
        records = graph.run(
            f"MATCH (a:Node) WHERE a.{mark} IS NULL AND COUNT {{ {arrow} }} >= $dense "
            "RETURN collect(a.id) AS ids",
            "finding dense nodes",
            dense=DENSE,
        )
        for node_id in records[0]["ids"] if records else []:
            text = _crossing(direction)

            def work(tx: neo4j.ManagedTransaction, node_id: str = node_id, text: str = text) -> int:
                record = tx.run(text, ids=[node_id], dense=DENSE).single()
                return int(record["marked"]) if record else 0

            marked += graph.write(work, "keying a dense node's edges")
    return marked


def cut_query(
    direction: Direction, kinds: Sequence[EdgeKind], node: str, edge: str, link: str
) -> str:
    """The cut level of one keyed node without parallel edges: the edges to nodes the
    walk holds (one index seek per held node and type), the first ``$take`` new far nodes read
    in index order, and the level's edge count from the node's degree. No row comes
    back when the node is not keyed that way, or has parallel edges; the caller then
    sorts the level.

    ``node``, ``edge`` and ``link`` build the row strings (``lineage.graph.rows``) from
    the variables ``m`` (a far node), ``a``/``b`` (source/target) and ``r``. An edge to
    a new far node comes back as its ``link`` (kind and key) alone, in the order of
    ``far``: its ends are the node asked about and that far node.
    """
    mark, par, near, far = _SIDES[direction]
    names = sorted(k.value for k in kinds)
    types = "|".join(names)
    if direction is Direction.DOWNSTREAM:
        degree, step = f"COUNT {{ (n)-[:{types}]->() }}", "()-[r:{t}]->(m)"
    else:
        degree, step = f"COUNT {{ (n)<-[:{types}]-() }}", "(m)-[r:{t}]->()"

    def seeks(condition: str, tail: str) -> str:
        # One seek per type (relationship indexes are per type); the hint keeps the
        # planner from scanning an index it believes small.
        return " UNION ALL ".join(
            f"MATCH {step.format(t=t)} USING INDEX r:{t}({near}, {far}) "
            f"WHERE r.{near} = $id AND {condition} RETURN r, m{tail}"
            for t in names
        )

    held = seeks(f"r.{far} IN $known", "")
    new = seeks(
        f"r.{far} IS NOT NULL AND NOT r.{far} IN $known",
        f" ORDER BY r.{near}, r.{far} LIMIT $take",
    )
    ends = "startNode(r) AS a, endNode(r) AS b"
    return (
        f"MATCH (n:Node {{id: $id}}) WHERE n.{mark} AND n.{par} IS NULL "
        f"CALL () {{ CALL () {{ {held} }} WITH r, {ends} "
        f"RETURN collect({edge}) AS old_edges }} "
        f"CALL () {{ CALL () {{ {new} }} WITH r, m ORDER BY r.{far} LIMIT $take "
        f"RETURN collect({node}) AS far, collect({link}) AS links }} "
        f"WITH old_edges, links, far, {degree} AS total "
        # No two edges share a far node: the new far nodes are the edges to unheld nodes.
        "RETURN old_edges AS edges, links, far, total AS edges_total, "
        "total - size(old_edges) AS new_total"
    )
