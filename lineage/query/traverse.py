"""The walks, written once over the LineageReader primitives.

Both readers run these same functions, so a depth cut, a node limit or a tie
between two equally short paths comes out the same whichever store answers.
A walk goes level by level (one ``expand`` call per level, however wide), and
within a level takes new nodes in id order, so a cut keeps the same nodes every time.

Snapshot edges are walked both ways, never two in a row (see ``_cross``): a
snapshot stands for the data it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lineage.model import WALK_BUDGET, Direction, EdgeKind, LineageEdge, LineageNode, NodeKind
from lineage.query import gcpause
from lineage.query.port import CappedExpand, Expansion, LineageReader
from lineage.query.types import LineageAnswer, LineageQuery


@dataclass
class _Walk:
    """The state of one walk: what was reached, at which level, by which edges."""

    kept: dict[str, LineageNode] = field(default_factory=dict)
    start: str = ""
    passed: set[str] = field(default_factory=set)  # walked through, not returned (kinds filter)
    edges: dict[tuple[str, str, str, str], LineageEdge] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    # The kind of each node reached, and the frontier nodes (by walk direction) that
    # were reached over a snapshot edge alone: they cross no second one.
    kinds: dict[str, NodeKind] = field(default_factory=dict)
    hopped: dict[Direction, set[str]] = field(default_factory=dict)
    # What a reader's cut level (CappedExpand) left out, counted but not sent.
    unsent_nodes: int = 0
    unsent_edges: int = 0

    def add_edges(self, edges: Iterable[LineageEdge]) -> None:
        known, seen = self.edges, self.seen
        for edge in edges:
            # ``edge_key`` orders and compares like LineageEdge.sort_key, cheaper.
            key = (edge.source, edge.target, edge.kind, edge.key or "")
            if key not in known:
                known[key] = edge
            seen.add(edge.source)
            seen.add(edge.target)

    def reached(self, node_id: str) -> bool:
        return node_id in self.kept or node_id in self.passed


def walk(reader: LineageReader, start: LineageNode, query: LineageQuery) -> LineageAnswer:
    """A bounded breadth-first walk from ``start``; see ``LineageQuery`` for the knobs."""
    with gcpause.paused():
        return _walk(reader, start, query)


def _directions(query: LineageQuery) -> list[Direction]:
    if query.direction is Direction.BOTH:
        return [Direction.UPSTREAM, Direction.DOWNSTREAM]
    return [query.direction]


def _cutter(
    reader: LineageReader, query: LineageQuery, directions: list[Direction]
) -> CappedExpand | None:
    """The reader, when it may cut a level itself: when every new node is returned (no
    kinds filter: the cut is then "the first ``room`` new ids"), one direction at a time
    (in BOTH, an edge can be met from either end, and the counts would differ)."""
    if query.kinds is not None or len(directions) != 1:
        return None
    return reader if isinstance(reader, CappedExpand) else None


def _walk(reader: LineageReader, start: LineageNode, query: LineageQuery) -> LineageAnswer:
    state = _Walk(kept={start.id: start}, start=start.id, seen={start.id})
    state.kinds[start.id] = start.kind
    directions = _directions(query)
    frontiers: dict[Direction, list[str]] = {d: [start.id] for d in directions}
    level = 0
    depth_reached = 0
    truncated_by: str | None = None
    cut: list[str] = []

    def returned(node: LineageNode) -> bool:
        return query.kinds is None or node.kind in query.kinds

    cutter = _cutter(reader, query, directions)
    while any(frontiers.values()):
        if level >= query.depth:
            # One more step, only to learn whether the depth cut anything off.
            more = _unreached(reader, state, frontiers, query)
            if more:
                truncated_by = "depth"
                cut = more
            break
        level += 1
        found = _next_level(reader, cutter, state, frontiers, directions, query)
        new_nodes: dict[str, LineageNode] = {}
        for nodes in found.values():
            new_nodes.update(nodes)
        for node_id, node in new_nodes.items():
            state.kinds[node_id] = node.kind
        keep = sorted(i for i, n in new_nodes.items() if returned(n))
        room = query.limit - len(state.kept)
        if len(keep) > room:
            truncated_by = "limit"
            keep = keep[:room]
            cut = sorted(frontiers_union(frontiers))
        kept_now = set(keep)
        for node_id in keep:
            state.kept[node_id] = new_nodes[node_id]
        if truncated_by == "limit":
            depth_reached = level if keep else level - 1
            break
        passing = {i for i, n in new_nodes.items() if not returned(n)}
        state.passed |= passing
        if len(state.passed) > WALK_BUDGET:
            truncated_by = "budget"
            cut = sorted(kept_now | passing)
            depth_reached = level
            break
        if new_nodes:
            depth_reached = level
        frontiers = {
            d: sorted(
                i
                for i, n in found.get(d, {}).items()
                if (i in kept_now or i in passing) and n.kind not in query.stop_at
            )
            for d in directions
        }
    return _answer(start, state, truncated_by, depth_reached, cut)


def _next_level(
    reader: LineageReader,
    cutter: CappedExpand | None,
    state: _Walk,
    frontiers: dict[Direction, list[str]],
    directions: list[Direction],
    query: LineageQuery,
) -> dict[Direction, dict[str, LineageNode]]:
    """The nodes one level further in each direction, not reached before, by far-end id."""
    found: dict[Direction, dict[str, LineageNode]] = {}
    for direction in directions:
        ids = frontiers[direction]
        if not ids:
            continue
        far_nodes, ends, _pairs = _step(reader, cutter, state, ids, direction, query)
        kept_ids, passed_ids = state.kept, state.passed
        found[direction] = {
            i: far_nodes[i]
            for i in ends
            if i not in kept_ids and i not in passed_ids and i in far_nodes
        }
        state.hopped[direction] = {i for i in found[direction] if ends[i]}
    return found


def _answer(
    start: LineageNode, state: _Walk, truncated_by: str | None, depth_reached: int, cut: list[str]
) -> LineageAnswer:
    kept = tuple(state.kept[i] for i in sorted(state.kept))
    # Dict keys are unique edge keys, so sorting the pairs never compares two edges.
    edges = tuple(
        e
        for _, e in sorted(
            (k, e)
            for k, e in state.edges.items()
            if e.source in state.kept and e.target in state.kept
        )
    )
    return LineageAnswer(
        start=start,
        nodes=kept,
        edges=edges,
        truncated=truncated_by is not None,
        truncated_by=truncated_by,
        depth_reached=depth_reached,
        nodes_seen=len(state.seen) + state.unsent_nodes,
        edges_seen=len(state.edges) + state.unsent_edges,
        frontier=tuple(sorted(set(cut) & set(state.kept))) if cut else (),
    )


_SNAPSHOT_OF = frozenset({EdgeKind.SNAPSHOT_OF})
_OPPOSITE = {Direction.UPSTREAM: Direction.DOWNSTREAM, Direction.DOWNSTREAM: Direction.UPSTREAM}
# Who crosses a snapshot edge against its arrow: walking up, an artifact to its
# snapshots; walking down, a snapshot to the data it holds.
_CROSSES = {Direction.UPSTREAM: NodeKind.ARTIFACT, Direction.DOWNSTREAM: NodeKind.SNAPSHOT}


def _step(
    reader: LineageReader,
    cutter: CappedExpand | None,
    state: _Walk,
    ids: list[str],
    direction: Direction,
    query: LineageQuery,
) -> tuple[dict[str, LineageNode], dict[str, bool], list[tuple[str, str]]]:
    """One level in one direction: the far nodes, each far end's id with whether it was
    reached over a snapshot edge alone, and the (near, far) pairs of the edges walked.
    The edges go into ``state``."""
    hopped = state.hopped.get(direction, set())
    parts: list[tuple[Expansion, Direction]] = []
    if EdgeKind.SNAPSHOT_OF not in query.edge_kinds:
        parts.append(
            (_level(reader, cutter, state, ids, direction, query.edge_kinds, query), direction)
        )
    else:
        plain = [i for i in ids if i not in hopped]
        again = [i for i in ids if i in hopped]
        others = query.edge_kinds - _SNAPSHOT_OF
        if plain:
            parts.append(
                (
                    _level(reader, cutter, state, plain, direction, query.edge_kinds, query),
                    direction,
                )
            )
        if again and others:
            parts.append(
                (_level(reader, cutter, state, again, direction, others, query), direction)
            )
        # Not from the start walking up: the snapshots of the start hold the start's own
        # data, which is not upstream of it (an auditor asking what went into a model
        # must not be shown the snapshot a later run took of that model).
        cross = [
            i
            for i in plain
            if state.kinds.get(i) is _CROSSES.get(direction)
            and not (direction is Direction.UPSTREAM and i == state.start)
        ]
        if cross:
            back = _OPPOSITE[direction]
            parts.append((reader.expand(cross, back, _SNAPSHOT_OF, query.as_of_ms), back))
    nodes: dict[str, LineageNode] = {}
    ends: dict[str, bool] = {}
    pairs: list[tuple[str, str]] = []
    for step, way in parts:
        state.add_edges(step.edges)
        nodes.update(step.nodes)
        up = way is Direction.UPSTREAM
        for edge in step.edges:
            near, far = (edge.target, edge.source) if up else (edge.source, edge.target)
            ends[far] = ends.get(far, True) and edge.kind is EdgeKind.SNAPSHOT_OF
            pairs.append((near, far))
    return nodes, ends, pairs


def _level(
    reader: LineageReader,
    cutter: CappedExpand | None,
    state: _Walk,
    ids: list[str],
    direction: Direction,
    kinds: frozenset[EdgeKind],
    query: LineageQuery,
) -> Expansion:
    """One level: cut by the reader to the room left (plus one, to know more follow)
    when it can, else whole. (A level in parts, each cut so, still holds the level's
    first ``room`` new ids.)"""
    if cutter is not None:
        room = query.limit - len(state.kept)
        known = list(state.kept)
        capped = cutter.expand_capped(ids, direction, kinds, query.as_of_ms, known, room + 1)
        if capped is not None:
            state.unsent_nodes += capped.more_nodes
            state.unsent_edges += capped.more_edges
            return capped.expansion
    return reader.expand(ids, direction, kinds, query.as_of_ms)


def frontiers_union(frontiers: dict[Direction, list[str]]) -> set[str]:
    out: set[str] = set()
    for ids in frontiers.values():
        out.update(ids)
    return out


def _unreached(
    reader: LineageReader,
    state: _Walk,
    frontiers: dict[Direction, list[str]],
    query: LineageQuery,
) -> list[str]:
    """The frontier nodes with a neighbour the walk has not reached."""
    more: set[str] = set()
    for direction, ids in frontiers.items():
        if not ids:
            continue
        _nodes, _ends, pairs = _step(reader, None, state, ids, direction, query)
        more.update(near for near, far in pairs if not state.reached(far))
    return sorted(more)


# Impact and paths moved to their own modules; these names stay importable from here.
from lineage.query.impact import MODEL_TYPE as MODEL_TYPE  # noqa: E402
from lineage.query.impact import decode_cursor as decode_cursor  # noqa: E402
from lineage.query.impact import downstream as downstream  # noqa: E402
from lineage.query.impact import encode_cursor as encode_cursor  # noqa: E402
from lineage.query.impact import impact as impact  # noqa: E402
from lineage.query.paths import shortest_path as shortest_path  # noqa: E402
