"""What the Neo4j reader's queries share: the node map they read back when a compact row
does not parse (``lineage.graph.rows``), and the relationship types they match."""

from __future__ import annotations

from collections.abc import Iterable

from lineage.model import EdgeKind

NODE_MAP = "{.id, .kind, .name, .type, .props, .uri, .state, .created_ms}"


def rel_types(kinds: Iterable[EdgeKind]) -> str:
    # Relationship types cannot be parameters; they come from the EdgeKind enum only.
    return "|".join(sorted(EdgeKind(k).value for k in kinds))
