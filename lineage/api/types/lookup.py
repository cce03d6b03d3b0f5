"""Finding one node by id, with the same NOT_FOUND answer for every root field.

A node that exists but lies outside the principal's namespaces gets exactly the
NOT_FOUND of an unknown id (same code, same message): a FORBIDDEN here would tell
a token of one namespace which ids exist in another. FORBIDDEN stays for requests
that name a foreign namespace themselves (``runs(namespace:)``), which leak nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineage import model
from lineage.api.types.artifacts import Artifact, Snapshot
from lineage.api.types.nodes import LineageNode
from lineage.api.types.rebuild_node import Rebuild
from lineage.api.types.recurring import RecurringRun
from lineage.api.types.runs import Pipeline, PipelineVersion, Run
from lineage.api.types.tasks import Task
from lineage.errors import BadInputError, NotFoundError
from lineage.model import Direction, EdgeKind, KfpType, LineageType, NodeKind
from lineage.rebuild.rebuilds import get_rebuild

if TYPE_CHECKING:
    from lineage.api.context import RequestContext


def missing(what: str, node_id: str) -> NotFoundError:
    """The one answer for an id that is unknown, of another type, or hidden from the token."""
    return NotFoundError(f"no {what} {node_id!r}")


def _check_id(node_id: str, what: str) -> None:
    """An empty id names nothing: the store's id parsers would fail on it as on a bug."""
    if not node_id:
        raise BadInputError(f"the {what} id is empty")


async def _check_visible(
    c: RequestContext, node_id: str, what: str, exists: bool, loaded: bool = True
) -> None:
    """NOT_FOUND unless the node exists and the principal sees it.

    An unknown id pays what a hidden one pays: the visibility of a real node of the
    kind its id names is decided (and thrown away), so the time of the answer does
    not tell an id that exists in another namespace from one that exists nowhere.
    ``loaded``: the caller read the node through the request's loaders (which redact a
    shared snapshot), so the stand-in is read that way too.
    """
    if c.visibility is None:
        if not exists:
            raise missing(what, node_id)
        return
    probe = node_id
    if not exists:
        stand_in = await decoy(c, node_id)
        probe = stand_in[1] if stand_in is not None else node_id
        if loaded and stand_in is not None and stand_in[0] == "artifact":
            await c.loaders.artifacts.load(probe)  # as a hidden artifact was read (and redacted)
    seen = await c.visible([probe])
    if not exists or node_id not in seen:
        raise missing(what, node_id)


# Which stored type stands in for an unknown id, by the id's prefix (model.*_id).
_DECOY_KINDS: dict[str, tuple[str, str | None]] = {
    "run:": ("context", KfpType.PIPELINE_RUN),
    "pipeline:": ("context", KfpType.PIPELINE),
    "spec:": ("context", LineageType.PIPELINE_VERSION),
    "task:": ("execution", KfpType.CONTAINER_EXECUTION),
    "snapshot:": ("artifact", LineageType.SNAPSHOT),
    "image:": ("artifact", LineageType.IMAGE),
}


# How many stored nodes of a type the stand-in is chosen from.
DECOY_SAMPLE = 50


async def decoy(c: RequestContext, node_id: str) -> tuple[str, str] | None:
    """A stored node of the kind ``node_id`` names, as (class, id); None when the store
    holds none. Chosen once per app: of the first nodes of the type, the one with the
    median number of lineage edges, so it costs what a typical node of the kind does."""
    cls, type_name = next(
        (v for prefix, v in _DECOY_KINDS.items() if node_id.startswith(prefix)),
        ("artifact", None),
    )
    key = f"{cls}/{type_name}"
    if key not in c.shared.decoys:
        page = await c.call(c.shared.catalog.first_of_type, cls, type_name, DECOY_SAMPLE)
        ids = [item.id for item in page.items]
        if not ids:
            return None  # nothing to stand in yet; not remembered, the store may fill
        step = await c.read(c.shared.reader.expand, ids, Direction.BOTH, frozenset(EdgeKind))
        degree = dict.fromkeys(ids, 0)
        for edge in step.edges:
            for end in (edge.source, edge.target):
                if end in degree:
                    degree[end] += 1
        by_degree = sorted(ids, key=lambda i: (degree[i], i))
        c.shared.decoys[key] = by_degree[len(by_degree) // 2]
    return cls, c.shared.decoys[key]


async def context_by_id(
    c: RequestContext, node_id: str, type_name: str, what: str
) -> model.Context:
    _check_id(node_id, what)
    found = await c.loaders.contexts.load(node_id)
    await _check_visible(c, node_id, what, found is not None and found.type == type_name)
    assert found is not None
    return found


async def run_by_id(c: RequestContext, node_id: str) -> Run:
    return Run.of(await context_by_id(c, node_id, KfpType.PIPELINE_RUN, "run"))


async def pipeline_by_id(c: RequestContext, node_id: str) -> Pipeline:
    return Pipeline.of(await context_by_id(c, node_id, KfpType.PIPELINE, "pipeline"))


async def task_by_id(c: RequestContext, node_id: str) -> Task:
    _check_id(node_id, "task")
    found = await c.loaders.executions.load(node_id)
    exists = found is not None and found.type != LineageType.SNAPSHOT_EXECUTION
    await _check_visible(c, node_id, "task", exists)
    assert found is not None
    return Task.of(found)


async def artifact_by_id(c: RequestContext, node_id: str) -> Artifact:
    _check_id(node_id, "artifact")
    found = await c.loaders.artifacts.load(node_id)
    await _check_visible(c, node_id, "artifact", found is not None)
    assert found is not None
    return Artifact.of(found)


async def snapshot_by_id(c: RequestContext, node_id: str) -> Snapshot:
    _check_id(node_id, "snapshot")
    found = await c.loaders.artifacts.load(node_id)
    exists = found is not None and found.type == LineageType.SNAPSHOT
    await _check_visible(c, node_id, "snapshot", exists)
    assert found is not None
    return Snapshot.of(found)


async def require_node(c: RequestContext, node_id: str) -> model.LineageNode:
    """The node as the reader holds it; NOT_FOUND when it is unknown or hidden. The check
    before a walk: the walk reads what it needs, so the typed view is not read."""
    _check_id(node_id, "lineage node")
    found = (await c.read(c.reader.nodes, [node_id])).get(node_id)
    await _check_visible(c, node_id, "lineage node", found is not None, loaded=False)
    assert found is not None
    return found


async def node_by_id(c: RequestContext, node_id: str, required: bool = True) -> LineageNode | None:
    """Any lineage node, in its own type; a hidden node is as absent as an unknown one."""
    try:
        found = await require_node(c, node_id)
    except NotFoundError:
        if required:
            raise
        return None
    kind = found.kind
    if kind in (NodeKind.RUN, NodeKind.PIPELINE, NodeKind.PIPELINE_VERSION):
        context = await c.loaders.contexts.load(node_id)
        if context is None:
            return None
        if kind is NodeKind.RUN:
            return Run.of(context)
        return Pipeline.of(context) if kind is NodeKind.PIPELINE else PipelineVersion.of(context)
    if kind is NodeKind.RECURRING_RUN:
        context = await c.loaders.contexts.load(node_id)
        return RecurringRun.of(context) if context else None
    if kind is NodeKind.REBUILD:
        return Rebuild.of(await c.call(get_rebuild, c.shared.store, node_id))
    if kind is NodeKind.TASK:
        execution = await c.loaders.executions.load(node_id)
        return Task.of(execution) if execution else None
    artifact = await c.loaders.artifacts.load(node_id)
    if artifact is None:
        return None
    return Snapshot.of(artifact) if kind is NodeKind.SNAPSHOT else Artifact.of(artifact)
