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
where a cut pays, and the keys cost two strings per edge. A marked node (label
``LevelOut`` / ``LevelIn``) has all its edges that way keyed: a sync keys the
edges it writes to or from a marked node in the same transaction, and when it
ends marks the nodes it touched that crossed the threshold, keying their edges
in the same transaction as the mark. Marks are never removed (the store is
insert-only). Until a node is marked, its cut levels are sorted: slower, as exact.

Two edges between the same two nodes (of two kinds: the store keeps one event per
execution, artifact and direction) would make the number of far nodes differ
from the degree. A marked node with such edges is marked ``lvl_out_par`` /
``lvl_in_par`` as well, and its cut levels take the general query
(``lineage.query.readers.neo4j.capped``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import neo4j

from lineage.graph.connect import Graph
from lineage.model import Direction, EdgeKind, LineageEdge

# Edges in one direction from which a node is keyed. A level narrower than this is
# sorted quickly enough by the general query; tests lower it to key small stores.
DENSE = 1_000
VERSION = 1  # bump to make the next sync mark and key the whole projection again
STATE_FIELD = "levels"  # the SyncState property holding the VERSION the projection carries
ALL = "|".join(sorted(k.value for k in EdgeKind))

# (mark label, parallel mark, near-end key, far-end key) per direction of a walk.
_SIDES = {
    Direction.DOWNSTREAM: ("LevelOut", "lvl_out_par", "ls", "lt"),
    Direction.UPSTREAM: ("LevelIn", "lvl_in_par", "lt", "ls"),
}


@dataclass
class Marked:
    """The ids of the marked nodes, read once per sync (label scans): a batch's edges
    are keyed only where they touch one, so most batches send Neo4j nothing."""

    out: set[str] = field(default_factory=set)
    into: set[str] = field(default_factory=set)


def load(graph: Graph) -> Marked:
    records = graph.run(
        "CALL () { MATCH (n:LevelOut) RETURN collect(n.id) AS out } "
        "CALL () { MATCH (n:LevelIn) RETURN collect(n.id) AS into } RETURN out, into",
        "reading the level index's marks",
    )
    if not records:
        return Marked()
    return Marked(set(records[0]["out"]), set(records[0]["into"]))


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


# Edges just written from a marked node (out) or to one (in): key them, and mark a pair
# joined by more than one edge. Each expands from the far end, the sparse one (a hub's
# own edges are the many): matching the pair as one pattern let the planner expand
# from the hub for every pair, 200 us a pair at 2,000 runs.
_KEY_OUT = (
    "UNWIND $pairs AS p MATCH (a:Node {id: p[0]}) WHERE a:LevelOut "
    f"MATCH (b:Node {{id: p[1]}}) MATCH (b)<-[r:{ALL}]-(x) WITH a, b, r, x WHERE x = a "
    "SET r.ls = a.id, r.lt = b.id WITH a, b, count(r) AS c WHERE c > 1 "
    "SET a.lvl_out_par = true"
)
_KEY_IN = (
    "UNWIND $pairs AS p MATCH (b:Node {id: p[1]}) WHERE b:LevelIn "
    f"MATCH (a:Node {{id: p[0]}}) MATCH (a)-[r:{ALL}]->(x) WITH a, b, r, x WHERE x = b "
    "SET r.ls = a.id, r.lt = b.id WITH a, b, count(r) AS c WHERE c > 1 "
    "SET b.lvl_in_par = true"
)


def _degree(direction: Direction) -> str:
    if direction is Direction.DOWNSTREAM:
        return f"COUNT {{ (a)-[:{ALL}]->() }}"
    return f"COUNT {{ (a)<-[:{ALL}]-() }}"


def _mark(direction: Direction) -> str:
    """Mark node ``$id`` and key all its edges that way; note parallel edges."""
    label, par, _, _ = _SIDES[direction]
    if direction is Direction.DOWNSTREAM:
        edges, keys = f"(a)-[r:{ALL}]->(b)", "r.ls = a.id, r.lt = b.id"
    else:
        edges, keys = f"(a)<-[r:{ALL}]-(b)", "r.ls = b.id, r.lt = a.id"
    return (
        f"MATCH (a:Node {{id: $id}}) WHERE NOT a:{label} SET a:{label} "
        f"WITH a CALL (a) {{ MATCH {edges} SET {keys} "
        "WITH b, count(r) AS c WHERE c > 1 RETURN count(b) AS parallel } "
        f"FOREACH (_ IN CASE WHEN parallel > 0 THEN [1] ELSE [] END | SET a.{par} = true) "
        "RETURN count(a) AS marked"
    )


def update(tx: neo4j.ManagedTransaction, edges: Sequence[LineageEdge], marked: Marked) -> None:
    """Key these written edges where they touch a marked node (in their transaction).
    Running it again changes nothing."""
    pairs = sorted({(e.source, e.target) for e in edges})
    out = [list(p) for p in pairs if p[0] in marked.out]
    into = [list(p) for p in pairs if p[1] in marked.into]
    if out:
        tx.run(_KEY_OUT, pairs=out).consume()
    if into:
        tx.run(_KEY_IN, pairs=into).consume()


def settle(graph: Graph, touched: Collection[str] | None, marked: Marked) -> int:
    """Mark the nodes that now have ``DENSE`` edges or more in a direction and are not
    marked: among ``touched`` (the ends of the edges a sync wrote), or among all nodes
    when None (a full sync, or a projection synced before this index). One transaction
    per node: a hub's edges are many. Returns how many nodes were marked."""
    done = 0
    for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
        label = _SIDES[direction][0]
        already = marked.out if direction is Direction.DOWNSTREAM else marked.into
        if touched is None:
            source, params = "MATCH (a:Node)", {}
        else:
            ids = sorted(set(touched) - already)
            if not ids:
                continue
            source, params = "UNWIND $ids AS id MATCH (a:Node {id: id})", {"ids": ids}
        records = graph.run(
            f"{source} WHERE NOT a:{label} AND {_degree(direction)} >= $dense "
            "RETURN collect(a.id) AS ids",
            "finding dense nodes",
            dense=DENSE,
            **params,
        )
        text = _mark(direction)
        for node_id in records[0]["ids"] if records else []:

            def work(tx: neo4j.ManagedTransaction, node_id: str = node_id, text: str = text) -> int:
                record = tx.run(text, id=node_id).single()
                return int(record["marked"]) if record else 0

            done += graph.write(work, "keying a dense node's edges")
            already.add(node_id)
    return done


def mark_all(
    graph: Graph,
    out: Sequence[str],
    into: Sequence[str],
    run: Callable[..., int],  # (graph, text, doing, **params)
) -> None:
    """Mark these nodes (dense downstream / upstream, found by a full sync from its
    degrees) and key their edges set-wise. ``run`` repeats a statement of at most
    ``$limit`` rows until it changes nothing (``lineage.graph.bulk.repeat_bounded``): a
    hub's edges are keyed in bounded transactions, not in one."""
    for direction, ids in ((Direction.DOWNSTREAM, out), (Direction.UPSTREAM, into)):
        if not ids:
            continue
        label, par, _, _ = _SIDES[direction]
        if direction is Direction.DOWNSTREAM:
            edges, keys = f"(a)-[r:{ALL}]->(b)", "r.ls = a.id, r.lt = b.id"
        else:
            edges, keys = f"(a)<-[r:{ALL}]-(b)", "r.ls = b.id, r.lt = a.id"
        graph.run_long(
            f"UNWIND $ids AS id MATCH (a:Node {{id: id}}) SET a:{label}",
            "marking dense nodes",
            ids=list(ids),
        )
        run(
            graph,
            f"UNWIND $ids AS id MATCH (a:Node {{id: id}}) MATCH {edges} "
            "WHERE r.ls IS NULL OR r.lt IS NULL "
            f"WITH a, r, b LIMIT $limit SET {keys} RETURN count(r) AS count",
            "keying dense nodes' edges",
            ids=list(ids),
        )
        graph.run_long(
            f"UNWIND $ids AS id MATCH (a:Node {{id: id}}) "
            f"CALL (a) {{ MATCH {edges} WITH b, count(r) AS c WHERE c > 1 "
            "RETURN count(b) AS parallel } "
            f"WITH a, parallel WHERE parallel > 0 SET a.{par} = true",
            "marking parallel edges of dense nodes",
            ids=list(ids),
        )


def wrong(graph: Graph, limit: int = 20) -> list[str]:
    """Marked nodes (up to ``limit``) an edge of which lacks its keys or carries wrong
    ones, or whose parallel-edge mark disagrees with their edges: where a cut would
    read a wrong level. Reads every marked node's edges once."""
    found: list[str] = []
    for direction in (Direction.DOWNSTREAM, Direction.UPSTREAM):
        label, par, _, _ = _SIDES[direction]
        if direction is Direction.DOWNSTREAM:
            edges, source, target = f"(n)-[r:{ALL}]->(m)", "n", "m"
        else:
            edges, source, target = f"(n)<-[r:{ALL}]-(m)", "m", "n"
        records = graph.run(
            f"MATCH (n:{label}) "
            f"CALL (n) {{ MATCH {edges} WITH n, m, collect(r) AS rs "
            f"RETURN sum(size([x IN rs WHERE coalesce(x.ls <> {source}.id "
            f"OR x.lt <> {target}.id, true)])) AS bad, max(size(rs)) AS most }} "
            f"WITH n, bad, most WHERE bad > 0 OR (most > 1) <> coalesce(n.{par}, false) "
            "RETURN collect(n.id)[..$limit] AS ids",
            "checking the level index",
            limit=limit,
        )
        found += records[0]["ids"] if records else []
    return sorted(set(found))[:limit]


def cut_query(
    direction: Direction, kinds: Sequence[EdgeKind], node: str, edge: str, link: str
) -> str:
    """The cut level of one keyed node without parallel edges: the edges to nodes the
    walk holds (one index seek per held node and type); per edge type, its first
    ``$take`` new far nodes read in index order (``fars``) with their edges' ``links``;
    and the level's edge count from the node's degree. The caller merges the types'
    lists: merging 10,000 rows in Neo4j (a union, then a sort) doubled its time. No row
    comes back when the node is not keyed that way, or has parallel edges; the caller
    then sorts the level.

    ``node``, ``edge`` and ``link`` build the row strings (``lineage.graph.rows``) from
    the variables ``m`` (a far node), ``a``/``b`` (source/target) and ``r``. An edge to
    a new far node comes back as its ``link`` (kind and key) alone: its ends are the
    node asked about and that far node.
    """
    mark, par, near, far = _SIDES[direction]
    names = sorted(k.value for k in kinds)
    types = "|".join(names)
    if direction is Direction.DOWNSTREAM:
        degree, step = f"COUNT {{ (n)-[:{types}]->() }}", "()-[r:{t}]->(m)"
    else:
        degree, step = f"COUNT {{ (n)<-[:{types}]-() }}", "(m)-[r:{t}]->()"

    def seek(t: str, condition: str) -> str:
        # Relationship indexes are per type; the hint keeps the planner from scanning
        # an index it believes small.
        return (
            f"MATCH {step.format(t=t)} USING INDEX r:{t}({near}, {far}) "
            f"WHERE r.{near} = $id AND {condition}"
        )

    held = " UNION ALL ".join(f"{seek(t, f'r.{far} IN $known')} RETURN r" for t in names)
    firsts = "".join(
        f"CALL () {{ {seek(t, f'r.{far} IS NOT NULL AND NOT r.{far} IN $known')} "
        f"WITH r, m ORDER BY r.{near}, r.{far} LIMIT $take "
        f"RETURN collect({node}) AS far{i}, collect({link}) AS links{i} }} "
        for i, t in enumerate(names)
    )
    lists = range(len(names))
    return (
        f"MATCH (n:Node {{id: $id}}) WHERE n:{mark} AND n.{par} IS NULL "
        f"CALL () {{ CALL () {{ {held} }} WITH r, startNode(r) AS a, endNode(r) AS b "
        f"RETURN collect({edge}) AS old_edges }} "
        f"{firsts}"
        f"WITH n, old_edges, [{', '.join(f'far{i}' for i in lists)}] AS fars, "
        f"[{', '.join(f'links{i}' for i in lists)}] AS links "
        f"WITH old_edges, fars, links, {degree} AS total "
        # No two edges share a far node: the new far nodes are the edges to unheld nodes.
        "RETURN old_edges AS edges, fars, links, total AS edges_total, "
        "total - size(old_edges) AS new_total"
    )
