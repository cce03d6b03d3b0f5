"""Lineage answers: the bounded subgraph around a node.

The node and edge types are resolved straight from the query engine's frozen
answers (``lineage.query.types``), whose attribute names they share, so a
10,000-node answer is not copied into 10,000 new objects; the executor's flat-list
fast path (``lineage.api.fastpath``) then serializes them without a resolver call
per field. A field whose value is computed names its getter in ``FAST``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from lineage.api.context import RequestContext
from lineage.api.types.nodes import (
    EdgeKind,
    Json,
    LineageNode,
    NodeKind,
    ctx,
    gql_field,
    ms_to_datetime,
)
from lineage.query import types as q

Info = strawberry.Info[RequestContext, None]
FAST = "lineage.fast"  # field metadata: a plain function of the parent object


def _created_at(node: Any) -> datetime | None:
    return ms_to_datetime(getattr(node, "created_ms", None))


@strawberry.type(
    name="LineageNodeRef",
    description="A node as a lineage answer holds it; `node` gives its full, typed view.",
)
class NodeRef:
    id: strawberry.ID
    kind: NodeKind  # type: ignore[valid-type]
    name: str
    type: str
    uri: str | None
    state: str | None = strawberry.field(description="The execution's or artifact's state.")
    properties: Json
    state_known_as_of: bool = strawberry.field(
        description="In an answer asOf a time: false when the store holds no record of the "
        "node's state then (stored before it kept state history, or a time before it first "
        "recorded it); `state` (and a run's `properties.state`) is then null, never "
        "today's value. Always true without asOf."
    )
    created_ms: strawberry.Private[int]

    @gql_field(metadata={FAST: _created_at}, description="When the store recorded it.")
    def created_at(self) -> datetime | None:
        return _created_at(self)

    @gql_field(description="The full node: a Run, Task, Artifact, Snapshot...")
    async def node(self, info: Info) -> LineageNode | None:
        from lineage.api.types.lookup import node_by_id

        return await node_by_id(ctx(info), self.id, required=False)


@strawberry.type(name="LineageEdge", description="A directed edge, in the direction data flows.")
class Edge:
    source: strawberry.ID
    target: strawberry.ID
    kind: EdgeKind  # type: ignore[valid-type]
    key: str | None = strawberry.field(
        description="The input or output name (INPUT, OUTPUT); how an image is known (USES_IMAGE)."
    )


@strawberry.type(description="A bounded walk. `truncated` says whether depth or limit cut it.")
class LineageGraph:
    start: NodeRef
    nodes: list[NodeRef]
    edges: list[Edge]
    truncated: bool
    truncated_by: str | None = strawberry.field(description='"depth" or "limit" when truncated.')
    depth_reached: int
    nodes_seen: int
    edges_seen: int
    frontier: list[strawberry.ID] = strawberry.field(
        description="Returned nodes whose neighbours the cut left unwalked: start there to go on."
    )

    @classmethod
    def of(cls, answer: q.LineageAnswer) -> LineageGraph:
        # The answer's frozen nodes and edges stand in for NodeRef and Edge: same attributes.
        return cls(
            start=answer.start,  # type: ignore[arg-type]
            nodes=list(answer.nodes),  # type: ignore[arg-type]
            edges=list(answer.edges),  # type: ignore[arg-type]
            truncated=answer.truncated,
            truncated_by=answer.truncated_by,
            depth_reached=answer.depth_reached,
            nodes_seen=answer.nodes_seen,
            edges_seen=answer.edges_seen,
            frontier=[strawberry.ID(i) for i in answer.frontier],
        )
