"""Finding one node by id, with the same NOT_FOUND answer for every root field.

A node that exists but lies outside the principal's namespaces gets exactly the
NOT_FOUND of an unknown id (same code, same message): a FORBIDDEN here would tell
a token of one namespace which ids exist in another. FORBIDDEN stays for requests
that name a foreign namespace themselves (``runs(namespace:)``), which leak nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lineage import model
from lineage.api.analysis import ModelRanking, RankedModel
from lineage.api.artifacts import Artifact, Snapshot
from lineage.api.connections import scan
from lineage.api.nodes import LineageNode, Order, metrics_of
from lineage.api.recurring import RecurringRun
from lineage.api.runs import Pipeline, PipelineVersion, Run, pipeline_matches
from lineage.api.tasks import Task
from lineage.errors import BadInputError, NotFoundError
from lineage.model import EventType, KfpType, LineageType, NodeKind
from lineage.query import types as q
from lineage.store.port import Page

if TYPE_CHECKING:
    from lineage.api.context import RequestContext


def _missing(what: str, node_id: str) -> NotFoundError:
    """The one answer for an id that is unknown, of another type, or hidden from the token."""
    return NotFoundError(f"no {what} {node_id!r}")


def _check_id(node_id: str, what: str) -> None:
    """An empty id names nothing: the store's id parsers would fail on it as on a bug."""
    if not node_id:
        raise BadInputError(f"the {what} id is empty")


async def _check_visible(c: RequestContext, node_id: str, what: str) -> None:
    if node_id not in await c.visible([node_id]):
        raise _missing(what, node_id)


async def context_by_id(
    c: RequestContext, node_id: str, type_name: str, what: str
) -> model.Context:
    _check_id(node_id, what)
    found = await c.loaders.contexts.load(node_id)
    if found is None or found.type != type_name:
        raise _missing(what, node_id)
    await _check_visible(c, node_id, what)
    return found


async def run_by_id(c: RequestContext, node_id: str) -> Run:
    return Run.of(await context_by_id(c, node_id, KfpType.PIPELINE_RUN, "run"))


async def pipeline_by_id(c: RequestContext, node_id: str) -> Pipeline:
    return Pipeline.of(await context_by_id(c, node_id, KfpType.PIPELINE, "pipeline"))


async def task_by_id(c: RequestContext, node_id: str) -> Task:
    _check_id(node_id, "task")
    found = await c.loaders.executions.load(node_id)
    if found is None or found.type == LineageType.SNAPSHOT_EXECUTION:
        raise _missing("task", node_id)
    await _check_visible(c, node_id, "task")
    return Task.of(found)


async def artifact_by_id(c: RequestContext, node_id: str) -> Artifact:
    _check_id(node_id, "artifact")
    found = await c.loaders.artifacts.load(node_id)
    if found is None:
        raise _missing("artifact", node_id)
    await _check_visible(c, node_id, "artifact")
    return Artifact.of(found)


async def snapshot_by_id(c: RequestContext, node_id: str) -> Snapshot:
    _check_id(node_id, "snapshot")
    found = await c.loaders.artifacts.load(node_id)
    if found is None or found.type != LineageType.SNAPSHOT:
        raise _missing("snapshot", node_id)
    await _check_visible(c, node_id, "snapshot")
    return Snapshot.of(found)


async def require_node(c: RequestContext, node_id: str) -> q.LineageNode:
    """The node as the reader holds it; NOT_FOUND when it is unknown or hidden. The check
    before a walk: the walk reads what it needs, so the typed view is not read."""
    _check_id(node_id, "lineage node")
    found = (await c.read(c.reader.nodes, [node_id])).get(node_id)
    if found is None or node_id not in await c.visible([node_id]):
        raise _missing("lineage node", node_id)
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
    if kind is NodeKind.TASK:
        execution = await c.loaders.executions.load(node_id)
        return Task.of(execution) if execution else None
    artifact = await c.loaders.artifacts.load(node_id)
    if artifact is None:
        return None
    return Snapshot.of(artifact) if kind is NodeKind.SNAPSHOT else Artifact.of(artifact)


# --- the best model of a sweep ----------------------------------------------


def _model_for(record: model.RunRecord, metrics: model.Artifact) -> model.Artifact | None:
    """The model a metrics artifact speaks of: written by the same task, else read by the
    task that wrote the metrics (an evaluation step), else the run's only model."""
    models = {a.id: a for a in record.artifacts if a.type == KfpType.MODEL}
    writers = {
        e.execution
        for e in record.events
        if e.artifact == metrics.id and e.type is EventType.OUTPUT
    }
    for wanted in (EventType.OUTPUT, EventType.INPUT):
        linked = sorted(
            e.artifact
            for e in record.events
            if e.execution in writers and e.type is wanted and e.artifact in models
        )
        if linked:
            return models[linked[0]]
    return next(iter(models.values())) if len(models) == 1 else None


async def _require_pipeline(c: RequestContext, pipeline: str) -> None:
    """NOT_FOUND unless a visible pipeline has this id or name (as runs(pipeline:) names it).

    Pipelines are few next to runs, so they are scanned by the same bounded scan; a scan
    that ends at its budget without a match cannot tell, and lets the empty answer stand.
    """

    async def fetch(token: str | None, size: int) -> Page[model.Context]:
        return await c.call(c.shared.store.list_contexts, KfpType.PIPELINE, size, token)

    async def keep(rows: Sequence[model.Context]) -> list[bool]:
        named = [r.id for r in rows if pipeline_matches([r.id], pipeline)]
        visible = await c.visible(named)
        return [r.id in visible for r in rows]

    found = await scan("pipelines", fetch, keep, 1, None, c.limits.max_scan, c.cursors)
    if not found.items and not found.has_next:
        raise _missing("pipeline", pipeline)


async def rank_models(
    c: RequestContext, pipeline: str, metric: str, order: Order, first: int
) -> ModelRanking:
    c.limits.check_page(first)
    if not metric:
        raise BadInputError("metric must name a metric, e.g. accuracy")

    async def fetch(token: str | None, size: int) -> Page[model.Context]:
        return await c.call(c.shared.store.list_contexts, KfpType.PIPELINE_RUN, size, token)

    async def keep(rows: Sequence[model.Context]) -> list[bool]:
        ok = [pipeline_matches(r.parents, pipeline) for r in rows]
        visible = await c.visible([r.id for r, good in zip(rows, ok, strict=True) if good])
        return [good and r.id in visible for r, good in zip(rows, ok, strict=True)]

    # A sweep is many runs of one pipeline: read them all, up to the scan budget.
    budget = c.limits.max_scan // 10
    runs = await scan("rank", fetch, keep, budget, None, c.limits.max_scan, c.cursors)
    if not runs.items:
        # No run of it: an empty ranking only if the pipeline exists (and is visible).
        await _require_pipeline(c, pipeline)
    records = await c.loaders.runs.load_many([row.id for row, _ in runs.items])
    ranked: list[RankedModel] = []
    for (row, _), record in zip(runs.items, records, strict=True):
        if record is None:
            continue
        for artifact in sorted(record.artifacts, key=lambda a: a.id):
            for m in metrics_of(artifact):
                chosen = _model_for(record, artifact) if m.name == metric else None
                if chosen is not None:
                    ranked.append(
                        RankedModel(
                            rank=0,
                            value=m.value,
                            metric=m,
                            model=Artifact.of(chosen),
                            run=Run.of(row),
                        )
                    )
    ranked.sort(key=lambda r: (-r.value if order is Order.DESC else r.value, r.model.id))
    for position, entry in enumerate(ranked, start=1):
        entry.rank = position
    return ModelRanking(
        models=ranked[:first],
        runs_scanned=len(runs.items),
        models_ranked=len(ranked),
        truncated=runs.has_next,
    )
