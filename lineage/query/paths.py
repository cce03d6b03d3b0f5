"""Shortest lineage path between two nodes, along the data flow in either direction.

A snapshot holds the data it was taken of, so, as in lineage and impact walks
(``lineage.query.traverse``, ``lineage.query.impact``), the data flows from a snapshot
to that data too: the search crosses a SNAPSHOT_OF edge against its arrow from the
snapshot to its source. The path lists that edge as stored (source -> snapshot).
"""

from __future__ import annotations

from lineage.model import DATA_FLOW, Direction, EdgeKind, LineageEdge, LineageNode
from lineage.query.port import LineageReader
from lineage.query.types import PathAnswer

_SNAPSHOT_OF = frozenset({EdgeKind.SNAPSHOT_OF})
DOWN, UP = Direction.DOWNSTREAM, Direction.UPSTREAM
_Step = tuple[str, str, LineageEdge]  # near, far, the edge as stored


def _steps(reader: LineageReader, frontier: list[str], hopped: set[str]) -> list[_Step]:
    """(near, far, edge) of one level downstream, snapshots to the data they hold included.
    An artifact is never the target of a SNAPSHOT_OF edge, so walking those upstream
    crosses from snapshots alone. A node reached over a snapshot edge takes no other:
    two artifacts holding the same bytes share a snapshot, and are not each other's
    lineage through it."""
    plain = [i for i in frontier if i not in hopped]
    again = [i for i in frontier if i in hopped]
    edges: list[tuple[bool, LineageEdge]] = []
    if plain:
        edges += [(False, e) for e in reader.expand(plain, DOWN, DATA_FLOW).edges]
        edges += [(True, e) for e in reader.expand(plain, UP, _SNAPSHOT_OF).edges]
    if again:
        edges += [(False, e) for e in reader.expand(again, DOWN, DATA_FLOW - _SNAPSHOT_OF).edges]
    ordered = sorted(edges, key=lambda x: (x[0], LineageEdge.sort_key(x[1])))
    return [(e.target, e.source, e) if up else (e.source, e.target, e) for up, e in ordered]


def _search(
    reader: LineageReader, source: str, target: str, max_depth: int, budget: int
) -> tuple[list[tuple[str, LineageEdge]] | None, bool]:
    """Breadth-first along the data flow; ties go to the smallest source id, then edge.
    The path as (node reached, edge that reached it) from the node after ``source``."""
    parents: dict[str, tuple[str, LineageEdge]] = {}
    reached = {source}
    frontier = [source]
    for _level in range(max_depth):
        if not frontier:
            return None, False
        hopped = {n for n in frontier if n in parents and parents[n][1].kind in _SNAPSHOT_OF}
        steps = _steps(reader, frontier, hopped)
        for near, far, edge in steps:
            if far not in reached and far not in parents:
                parents[far] = (near, edge)
        fresh = sorted({far for _, far, _ in steps} - reached)
        reached.update(fresh)
        if target in reached:
            chain: list[tuple[str, LineageEdge]] = []
            node = target
            while node != source:
                near, edge = parents[node]
                chain.append((node, edge))
                node = near
            return list(reversed(chain)), False
        if len(reached) > budget:
            return None, True
        frontier = fresh
    return None, bool(frontier)


def shortest_path(
    reader: LineageReader, a: LineageNode, b: LineageNode, max_depth: int, budget: int = 1_000_000
) -> PathAnswer:
    if a.id == b.id:
        return PathAnswer(a.id, b.id, True, (a,), ())
    forward, cut_forward = _search(reader, a.id, b.id, max_depth, budget)
    flipped = False
    chain = forward
    cut_back = False
    if chain is None:
        chain, cut_back = _search(reader, b.id, a.id, max_depth, budget)
        flipped = chain is not None
    if chain is None:
        return PathAnswer(a.id, b.id, False, (), (), truncated=cut_forward or cut_back)
    ids = [b.id if flipped else a.id, *(node for node, _ in chain)]
    found = reader.nodes(ids)
    return PathAnswer(
        a.id,
        b.id,
        True,
        tuple(found[i] for i in ids),
        tuple(edge for _, edge in chain),
        reversed=flipped,
    )
