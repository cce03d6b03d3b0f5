"""Shortest lineage path between two nodes, along the data flow in either direction."""

from __future__ import annotations

from lineage.query.port import LineageReader
from lineage.query.types import DATA_FLOW, Direction, LineageEdge, LineageNode, PathAnswer


def _search(
    reader: LineageReader, source: str, target: str, max_depth: int, budget: int
) -> tuple[list[LineageEdge] | None, bool]:
    """Breadth-first along the data flow; ties go to the smallest source id, then edge."""
    parents: dict[str, LineageEdge] = {}
    reached = {source}
    frontier = [source]
    for _level in range(max_depth):
        if not frontier:
            return None, False
        step = reader.expand(frontier, Direction.DOWNSTREAM, DATA_FLOW)
        for edge in sorted(step.edges, key=LineageEdge.sort_key):
            if edge.target not in reached and edge.target not in parents:
                parents[edge.target] = edge
        fresh = sorted({e.target for e in step.edges} - reached)
        reached.update(fresh)
        if target in reached:
            chain: list[LineageEdge] = []
            node = target
            while node != source:
                edge = parents[node]
                chain.append(edge)
                node = edge.source
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
    ids = [chain[0].source, *(e.target for e in chain)]
    found = reader.nodes(ids)
    return PathAnswer(
        a.id,
        b.id,
        True,
        tuple(found[i] for i in ids),
        tuple(chain),
        reversed=flipped,
    )
