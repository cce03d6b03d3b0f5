"""The lineage graph's vocabulary: its nodes, edges and directions, whichever side reads it.

The projection (lineage.graph), the store's row rules (lineage.store.row_rules), the
readers and the service all speak it. Tuples, not lists, so answers compare and hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lineage.model.kinds import EdgeKind, NodeKind
from lineage.model.records import Properties

# The edges that carry data: lineage (upstream/downstream) walks these by default.
# PART_OF, VERSION_OF and PARENT_DAG describe where a task sits, not what fed it;
# a query may add them to ``LineageQuery.edge_kinds`` to walk them too.
DATA_FLOW: frozenset[EdgeKind] = frozenset(
    {
        EdgeKind.INPUT,
        EdgeKind.OUTPUT,
        EdgeKind.USES_IMAGE,
        EdgeKind.SNAPSHOT_OF,
        EdgeKind.CACHED_FROM,
        EdgeKind.REBUILT_FROM,
    }
)
ALL_EDGES: frozenset[EdgeKind] = frozenset(EdgeKind)

# A walk whose nodes other than those returned pile up past this is cut: a
# kinds filter must not turn a bounded answer into a walk of the whole store.
WALK_BUDGET = 200_000

# Derived properties of a task node.
CACHED_FROM = "cached_from"  # property of a cached task: the id of the task it reused
PARENT_TASK = "parent_task"  # property of a nested task: the id of its DAG task
DIGEST = "digest"


class Direction(StrEnum):
    UPSTREAM = "UPSTREAM"  # against the arrows: what went into the start node
    DOWNSTREAM = "DOWNSTREAM"  # along the arrows: what the start node fed
    BOTH = "BOTH"  # both walks from the start node, each in its own direction


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One node of the lineage graph, whichever reader found it.

    ``type`` is the MLMD type name (``system.Model``, ``system.ContainerExecution``,
    ``lineage.Image``...); ``state`` is the execution's last known state or the
    artifact's state (None for contexts); ``created_ms`` is when the store
    recorded it (the basis of as-of queries). In an as-of answer the state is the
    one the node had then (lineage.query.asof); ``state_known_as_of`` is False when
    the store holds no record of its state at that time, and the state is then None.
    """

    id: str
    kind: NodeKind
    name: str
    type: str
    properties: Properties = field(default_factory=dict)
    uri: str | None = None
    state: str | None = None
    created_ms: int = 0
    state_known_as_of: bool = True


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """A directed edge, in the direction data flows (see ``EdgeKind``).

    ``key`` is the input or output name for INPUT and OUTPUT edges (KFP's event
    path key), how the image is known for USES_IMAGE, else None.
    """

    source: str
    target: str
    kind: EdgeKind
    key: str | None = None

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.source, self.target, self.kind.value, self.key or "")
