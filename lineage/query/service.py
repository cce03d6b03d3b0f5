"""LineageService: the lineage questions, answered by whichever reader it is given.

The CLI and the GraphQL API are thin faces over this class. It validates input,
runs the shared walks of ``lineage.query.traverse`` on the reader's primitives,
and pages answers. It holds no connection of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from lineage.errors import BadInputError, NotFoundError
from lineage.model import LineageNode
from lineage.query import asof, paths, traverse
from lineage.query import diff as diffing
from lineage.query import impact as impacts
from lineage.query.port import LineageReader
from lineage.query.types import (
    MAX_DEPTH,
    MAX_LIMIT,
    DiffAnswer,
    ImpactAnswer,
    ImpactQuery,
    LineageAnswer,
    LineageQuery,
    PathAnswer,
)

# The most nodes an impact or diff walk visits before it reports itself truncated.
IMPACT_BUDGET = 2_000_000
MAX_PAGE = 10_000


class LineageService:
    def __init__(self, reader: LineageReader) -> None:
        self.reader = reader

    @property
    def backend(self) -> str:
        return self.reader.backend

    # --- nodes -----------------------------------------------------------

    def node(self, node_id: str, as_of_ms: int | None = None) -> LineageNode:
        """One node; NotFoundError when the store has no such lineage node (as of then)."""
        return asof.node_at(self._node(self.reader, node_id, as_of_ms), as_of_ms)

    def _node(self, reader: LineageReader, node_id: str, as_of_ms: int | None) -> LineageNode:
        found = reader.nodes([node_id]).get(node_id)
        if found is None:
            raise NotFoundError(f"no lineage node {node_id!r} in the {self.backend} store")
        if as_of_ms is not None and found.created_ms > as_of_ms:
            raise NotFoundError(
                f"{node_id!r} was recorded at {found.created_ms}, after the as-of time {as_of_ms}"
            )
        return found

    def nodes(self, ids: Sequence[str]) -> list[LineageNode]:
        """The known nodes among ``ids``, in input order (unknown ids are left out)."""
        found = self.reader.nodes(list(dict.fromkeys(ids)))
        return [found[i] for i in ids if i in found]

    # --- queries ---------------------------------------------------------

    def lineage(self, query: LineageQuery) -> LineageAnswer:
        check_depth(query.depth)
        if not 1 <= query.limit <= MAX_LIMIT:
            raise BadInputError(f"limit must be between 1 and {MAX_LIMIT}, got {query.limit}")
        # The reader for this walk first: a Neo4j reader fetches the neighbourhood (start
        # included) in one round trip, and the start's lookup is then answered from it.
        reader = self.reader.around(query.start, query)
        start = self._node(reader, query.start, query.as_of_ms)
        return asof.lineage_at(traverse.walk(reader, start, query), query.as_of_ms)

    def impact(self, query: ImpactQuery) -> ImpactAnswer:
        given = [x for x in (query.image, query.artifact, query.snapshot) if x is not None]
        if len(given) != 1:
            raise BadInputError(
                "impact starts from exactly one of: an image, an artifact, a snapshot"
            )
        if not 0 <= query.first <= MAX_PAGE:
            raise BadInputError(f"first must be between 0 and {MAX_PAGE}, got {query.first}")
        answer = impacts.impact(self.reader, self._impact_sources(query), query, IMPACT_BUDGET)
        return asof.impact_at(answer, query.as_of_ms)

    def path(self, source: str, target: str, max_depth: int = MAX_DEPTH) -> PathAnswer:
        check_depth(max_depth)
        a, b = self.node(source), self.node(target)
        return paths.shortest_path(self.reader, a, b, max_depth)

    def diff(self, a: str, b: str, as_of_ms: int | None = None) -> DiffAnswer:
        first, second = self.node(a, as_of_ms), self.node(b, as_of_ms)
        return diffing.diff(self.reader, first, second, as_of_ms, IMPACT_BUDGET)

    # --- helpers ---------------------------------------------------------

    def _impact_sources(self, query: ImpactQuery) -> list[LineageNode]:
        from lineage.model import NodeKind

        if query.image is not None:
            images = self.reader.find_images(query.image, query.as_of_ms)
            if not images:
                raise NotFoundError(f"no image with digest or id {query.image!r} in the store")
            return sorted(images, key=lambda n: n.id)
        node_id = query.artifact if query.artifact is not None else query.snapshot
        assert node_id is not None
        node = self.node(node_id, query.as_of_ms)
        wanted = NodeKind.SNAPSHOT if query.snapshot is not None else NodeKind.ARTIFACT
        allowed = {wanted} if query.snapshot is not None else {NodeKind.ARTIFACT, NodeKind.SNAPSHOT}
        if node.kind not in allowed:
            raise BadInputError(f"{node_id!r} is a {node.kind.value}, not a {wanted.value}")
        return [node]


def check_depth(depth: int) -> None:
    if not 0 <= depth <= MAX_DEPTH:
        raise BadInputError(
            f"depth must be between 0 and {MAX_DEPTH} edges, got {depth}"
            + (" (a negative depth means nothing)" if depth < 0 else "")
        )
