"""Nodes as they stood at an as-of time: their state from the history the store keeps.

MLMD holds today's state only; the store records each change of a node's state with
its time (lineage.store.history). An as-of answer takes each node's state from that
record. Where the record does not reach back to the time asked (a node stored before
the history was kept, or a time before the store first recorded the node's state), the
answer says so: the state is None and ``state_known_as_of`` False, never today's value.
Only the state is historical; the other properties are today's.
"""

from __future__ import annotations

from dataclasses import replace

from lineage.model import LineageNode, NodeKind
from lineage.query.types import ImpactAnswer, LineageAnswer
from lineage.store import history

# Kinds whose node carries the row's own state (an execution's or an artifact's).
_ROW_STATE = frozenset({NodeKind.TASK, NodeKind.ARTIFACT, NodeKind.IMAGE, NodeKind.SNAPSHOT})
STATE = "state"  # a context's state property (a run's, where its source records one)


def node_at(node: LineageNode, at_ms: int | None) -> LineageNode:
    """``node`` as of ``at_ms`` (itself when ``at_ms`` is None)."""
    if at_ms is None:
        return node
    entries = history.entries(node.properties)
    then = history.state_at(entries, at_ms)
    if node.kind in _ROW_STATE:
        if node.state is None and not entries:
            return node
        return replace(node, state=then, state_known_as_of=then is not None)
    if STATE not in node.properties and not entries:
        return node  # a context with no state (a pipeline, a version): nothing to place
    props = {k: v for k, v in node.properties.items() if k != STATE}
    if then is not None:
        props[STATE] = then
    return replace(node, properties=props, state_known_as_of=then is not None)


def lineage_at(answer: LineageAnswer, at_ms: int | None) -> LineageAnswer:
    if at_ms is None:
        return answer
    return replace(
        answer,
        start=node_at(answer.start, at_ms),
        nodes=tuple(node_at(n, at_ms) for n in answer.nodes),
    )


def impact_at(answer: ImpactAnswer, at_ms: int | None) -> ImpactAnswer:
    if at_ms is None:
        return answer
    return replace(
        answer,
        sources=tuple(node_at(n, at_ms) for n in answer.sources),
        models=tuple(node_at(n, at_ms) for n in answer.models),
        runs=tuple(node_at(n, at_ms) for n in answer.runs),
    )
