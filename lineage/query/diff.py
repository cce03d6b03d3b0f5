"""What differs upstream of two models: data, snapshots, parameters, images, sources, spec, run.

Each model's upstream closure is reduced to facts keyed so that the same step
of two runs lines up: ``<task name>/<input name>`` for data, ``<task name>/<param>``
for parameters, ``<task name>`` for images and sources. Where a closure holds
the same key twice (a task and its cached copy), the values are joined.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from lineage.errors import BadInputError
from lineage.model import DATA_FLOW, Direction, EdgeKind, LineageNode, NodeKind
from lineage.query import asof, traverse
from lineage.query.port import LineageReader
from lineage.query.types import (
    MAX_DEPTH,
    MAX_LIMIT,
    Change,
    DiffAnswer,
    DiffCategory,
    DiffEntry,
    LineageAnswer,
    LineageQuery,
)

Facts = dict[tuple[DiffCategory, str], set[str]]

# How a model was made: a rebuilt model's facts are those of its own run, never its
# original's (REBUILT_FROM is a claim about the model, not an input of it), so a diff
# of an original and its rebuild shows what the rebuild changed.
MADE_OF = DATA_FLOW - {EdgeKind.REBUILT_FROM}


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _follow(
    reader: LineageReader, ids: Iterable[str], kind: EdgeKind, as_of_ms: int | None
) -> dict[str, list[LineageNode]]:
    """For each id, the nodes one ``kind`` edge downstream of it."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    step = reader.expand(wanted, Direction.DOWNSTREAM, frozenset({kind}), as_of_ms)
    out: dict[str, list[LineageNode]] = defaultdict(list)
    for edge in step.edges:
        out[edge.source].append(step.nodes[edge.target])
    return out


def _add(out: Facts, category: DiffCategory, key: str, value: object) -> None:
    out[(category, key)].add(_value(value))


def facts(reader: LineageReader, model: LineageNode, as_of_ms: int | None) -> tuple[Facts, bool]:
    query = LineageQuery(
        model.id,
        Direction.UPSTREAM,
        depth=MAX_DEPTH,
        limit=MAX_LIMIT,
        as_of_ms=as_of_ms,
        edge_kinds=MADE_OF,
    )
    # As of a time, states are those the nodes had then (lineage.query.asof).
    answer = asof.lineage_at(traverse.walk(reader.around(model.id, query), model, query), as_of_ms)
    nodes = {n.id: n for n in answer.nodes}
    out: Facts = defaultdict(set)
    _edge_facts(out, answer, nodes)
    _task_facts(out, answer)
    _snapshot_facts(out, reader, answer, nodes, as_of_ms)
    _run_facts(out, reader, answer, nodes, model, as_of_ms)
    return out, answer.truncated


def _edge_facts(out: Facts, answer: LineageAnswer, nodes: dict[str, LineageNode]) -> None:
    """The data each task read, and the images the tasks ran (resolved by digest)."""
    for edge in answer.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        if edge.kind is EdgeKind.INPUT and source.kind is not NodeKind.IMAGE:
            _add(
                out,
                DiffCategory.DATA,
                f"{target.name}/{edge.key or source.name}",
                source.properties.get("digest") or source.uri or source.id,
            )
        elif edge.kind is EdgeKind.USES_IMAGE:
            tag = source.properties.get("tag")
            _add(
                out,
                DiffCategory.IMAGE,
                target.name,
                f"{source.properties.get('digest') or source.id}" + (f" ({tag})" if tag else ""),
            )


def _task_facts(out: Facts, answer: LineageAnswer) -> None:
    """Each task's parameters, its image where none was resolved, and its source digest."""
    imaged = {e.target for e in answer.edges if e.kind is EdgeKind.USES_IMAGE}
    for task in (n for n in answer.nodes if n.kind is NodeKind.TASK):
        params = task.properties.get("inputs")
        if isinstance(params, dict):
            for name, value in params.items():
                _add(out, DiffCategory.PARAMETER, f"{task.name}/{name}", value)
        image = task.properties.get("image")
        if task.id not in imaged and isinstance(image, str) and image:
            _add(out, DiffCategory.IMAGE, task.name, f"{image} (unresolved)")
        digest = task.properties.get("source_digest")
        if isinstance(digest, str) and digest:
            _add(out, DiffCategory.SOURCE, task.name, digest)


def _snapshot_facts(
    out: Facts,
    reader: LineageReader,
    answer: LineageAnswer,
    nodes: dict[str, LineageNode],
    as_of_ms: int | None,
) -> None:
    """Snapshots hang downstream of the artifacts they copy: one step down from each input."""
    inputs = {
        e.source: f"{nodes[e.target].name}/{e.key or nodes[e.source].name}"
        for e in answer.edges
        if e.kind is EdgeKind.INPUT and nodes[e.source].kind is NodeKind.ARTIFACT
    }
    for art, snaps in _follow(reader, inputs, EdgeKind.SNAPSHOT_OF, as_of_ms).items():
        for snap in snaps:
            _add(out, DiffCategory.SNAPSHOT, inputs[art], snap.id)


def _run_facts(
    out: Facts,
    reader: LineageReader,
    answer: LineageAnswer,
    nodes: dict[str, LineageNode],
    model: LineageNode,
    as_of_ms: int | None,
) -> None:
    """The producing run, its state and its tasks' states, and its pipeline version."""
    producers = [
        e.source for e in answer.edges if e.target == model.id and e.kind is EdgeKind.OUTPUT
    ]
    runs = _follow(reader, producers, EdgeKind.PART_OF, as_of_ms)
    run_nodes = {
        r.id: asof.node_at(r, as_of_ms)
        for found in runs.values()
        for r in found
        if r.kind is NodeKind.RUN
    }
    for run in run_nodes.values():
        _add(out, DiffCategory.RUN, "run", run.id)
        state = run.properties.get("state") or run.state
        if state:
            _add(out, DiffCategory.RUN, "state", state)
    for task_id in producers:
        if task_id in nodes and nodes[task_id].state:
            _add(out, DiffCategory.RUN, "task_state", nodes[task_id].state)
    versions = _follow(reader, run_nodes, EdgeKind.VERSION_OF, as_of_ms)
    for found in versions.values():
        for version in found:
            _add(out, DiffCategory.SPEC, "pipeline_version", version.id)
            sources = version.properties.get("source_digests")
            if isinstance(sources, dict):
                for path, digest in sources.items():
                    _add(out, DiffCategory.SOURCE, str(path), digest)


def diff(
    reader: LineageReader, a: LineageNode, b: LineageNode, as_of_ms: int | None, budget: int
) -> DiffAnswer:
    for node in (a, b):
        if node.kind is not NodeKind.ARTIFACT:
            raise BadInputError(f"diff compares two model artifacts; {node.id!r} is a {node.kind}")
    before, cut_a = facts(reader, a, as_of_ms)
    after, cut_b = facts(reader, b, as_of_ms)
    entries: list[DiffEntry] = []
    for key in sorted(set(before) | set(after), key=lambda k: (k[0].value, k[1])):
        old = ", ".join(sorted(before[key])) if key in before else None
        new = ", ".join(sorted(after[key])) if key in after else None
        if old == new:
            continue
        change = Change.ADDED if old is None else Change.REMOVED if new is None else Change.CHANGED
        entries.append(DiffEntry(key[0], key[1], old, new, change))
    return DiffAnswer(a, b, tuple(entries), truncated=cut_a or cut_b)
