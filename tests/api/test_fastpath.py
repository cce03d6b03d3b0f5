"""The flat-list fast path gives exactly what graphql-core's normal path gives."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry

from lineage.api.context import RequestContext, Shared
from lineage.api.fastpath import FastExecutor
from lineage.api.guards.auth import LOCAL
from lineage.api.types.lineage import LineageGraph
from lineage.model import EdgeKind, LineageEdge, LineageNode, NodeKind
from lineage.query import types as q


def _answer(n: int) -> q.LineageAnswer:
    nodes = tuple(
        LineageNode(
            id=f"artifact:gs://b/{i}",
            kind=NodeKind.ARTIFACT if i % 3 else NodeKind.TASK,
            name=f"n{i}",
            type="system.Dataset",
            properties={"i": i, "nested": {"k": [i, "x"]}},
            uri=None if i % 2 else f"gs://b/{i}",
            state="LIVE",
            created_ms=1_700_000_000_000 + i,
        )
        for i in range(n)
    )
    edges = tuple(
        LineageEdge(
            nodes[i].id,
            nodes[i + 1].id,
            EdgeKind.INPUT if i % 2 else EdgeKind.OUTPUT,
            None if i % 4 else f"k{i}",
        )
        for i in range(n - 1)
    )
    return q.LineageAnswer(nodes[0], nodes, edges, True, "limit", 3, n + 5, n + 4, (nodes[-1].id,))


ANSWER = _answer(300)


@strawberry.type
class Query:
    @strawberry.field
    def graph(self) -> LineageGraph:
        return LineageGraph.of(ANSWER)


class Counting(FastExecutor):
    planned = 0

    def _plan(self, parent: Any, field_details_list: Any) -> Any:
        plan = super()._plan(parent, field_details_list)
        if plan is not None:
            Counting.planned += 1
        return plan


DOCUMENTS = [
    "{ graph { nodes { id kind name type uri state properties createdAt } "
    "edges { source target kind key } truncated truncatedBy frontier } }",
    "{ graph { a: nodes { i: id __typename k: kind } b: edges { kind s: source } } }",
    "query Q($y: Boolean!) { graph { nodes { id name @include(if: $y) uri @skip(if: $y) } } }",
    "{ graph { nodes { ...F } } } fragment F on LineageNodeRef { id createdAt }",
]


def _run(schema: strawberry.Schema, document: str) -> dict[str, Any]:
    result = asyncio.run(schema.execute(document, variable_values={"y": True}))
    assert not result.errors, result.errors
    assert result.data is not None
    return result.data


def test_fast_and_normal_paths_agree() -> None:
    fast = strawberry.Schema(Query, execution_context_class=Counting)
    normal = strawberry.Schema(Query)
    for document in DOCUMENTS:
        before = Counting.planned
        assert _run(fast, document) == _run(normal, document), document
        assert Counting.planned > before, f"the fast path was not taken for {document}"


def test_a_field_with_a_resolver_takes_the_normal_path(shared: Shared) -> None:
    fast = strawberry.Schema(Query, execution_context_class=Counting)
    before = Counting.planned
    result = asyncio.run(
        fast.execute(
            "{ graph { nodes { id node { id } } } }",
            context_value=RequestContext.build(shared, LOCAL),
        )
    )
    assert not result.errors and result.data is not None
    assert Counting.planned == before
    assert result.data["graph"]["nodes"][0] == {"id": ANSWER.nodes[0].id, "node": None}
