"""Pipelines, pipeline versions and runs: KFP's contexts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from lineage import model
from lineage.api.connections import PageInfo, scan
from lineage.api.context import RequestContext
from lineage.api.nodes import (
    Json,
    LineageNode,
    Metric,
    RunState,
    ctx,
    gql_field,
    metrics_of,
    ms_to_datetime,
    text,
)
from lineage.api.scope import pipeline_namespace
from lineage.model import KfpType, LineageType
from lineage.store.port import Page

if TYPE_CHECKING:
    from lineage.api.artifacts import Artifact
    from lineage.api.tasks import Task

ArtifactRef = Annotated["Artifact", strawberry.lazy("lineage.api.artifacts")]
TaskRef = Annotated["Task", strawberry.lazy("lineage.api.tasks")]
Info = strawberry.Info[RequestContext, None]


async def _created_at(info: Info, node_id: str) -> datetime | None:
    stamp = await ctx(info).loaders.stamps.load(node_id)
    return ms_to_datetime(stamp.created_ms) if stamp else None


@strawberry.type(description="A KFP pipeline (the MLMD context system.Pipeline).")
class Pipeline(LineageNode):
    namespace: str | None
    properties: Json

    @classmethod
    def of(cls, c: model.Context) -> Pipeline:
        namespace = text(c.properties, "namespace") or pipeline_namespace(c.id)
        return cls(
            id=strawberry.ID(c.id),
            kind=model.NodeKind.PIPELINE,
            name=c.name,
            type=c.type,
            namespace=namespace,
            properties=dict(c.properties),
        )

    @gql_field(description="Runs of this pipeline, in the order they were recorded.")
    async def runs(
        self, info: Info, state: RunState | None = None, first: int = 20, after: str | None = None
    ) -> RunConnection:
        return await list_runs(ctx(info), self.id, state, None, first, after)


@strawberry.type(description="A pipeline version: a canonical, content-addressed pipeline spec.")
class PipelineVersion(LineageNode):
    digest: str | None = strawberry.field(description="sha256 of the spec's canonical JSON.")
    properties: Json

    @classmethod
    def of(cls, c: model.Context) -> PipelineVersion:
        digest = c.id.removeprefix("spec:") if c.id.startswith("spec:") else None
        return cls(
            id=strawberry.ID(c.id),
            kind=model.NodeKind.PIPELINE_VERSION,
            name=c.name,
            type=c.type,
            digest=digest,
            properties=dict(c.properties),
        )


@strawberry.type(description="A KFP run (the MLMD context system.PipelineRun).")
class Run(LineageNode):
    namespace: str | None
    properties: Json

    @classmethod
    def of(cls, c: model.Context) -> Run:
        return cls(
            id=strawberry.ID(c.id),
            kind=model.NodeKind.RUN,
            name=text(c.properties, "display_name") or c.name,
            type=c.type,
            namespace=text(c.properties, "namespace"),
            properties=dict(c.properties),
        )

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        return await _created_at(info, self.id)

    @strawberry.field
    async def pipeline(self, info: Info) -> Pipeline | None:
        parent = await _parent(info, self.id, KfpType.PIPELINE)
        return Pipeline.of(parent) if parent else None

    @gql_field(description="The pipeline spec this run ran.")
    async def pipeline_version(self, info: Info) -> PipelineVersion | None:
        parent = await _parent(info, self.id, LineageType.PIPELINE_VERSION)
        return PipelineVersion.of(parent) if parent else None

    @gql_field(description="The run's state: as recorded, else derived from its tasks.")
    async def state(self, info: Info) -> RunState:
        return await run_state(ctx(info), self.id, self.properties)

    @gql_field(description="The run's tasks, sorted by id.")
    async def tasks(self, info: Info, name: str | None = None) -> list[TaskRef]:
        from lineage.api.tasks import Task as TaskType

        record = await ctx(info).loaders.runs.load(self.id)
        if record is None:
            return []
        tasks = [
            TaskType.of(e) for e in record.executions if e.type != LineageType.SNAPSHOT_EXECUTION
        ]
        return sorted(
            (t for t in tasks if name is None or name in (t.name, t.task_name)),
            key=lambda t: t.id,
        )

    @gql_field(description="Artifacts attributed to the run (images included), by id.")
    async def artifacts(self, info: Info, type: str | None = None) -> list[ArtifactRef]:
        return await _run_artifacts(info, self.id, type)

    @gql_field(description="The system.Model artifacts of the run.")
    async def models(self, info: Info) -> list[ArtifactRef]:
        return await _run_artifacts(info, self.id, KfpType.MODEL)

    @gql_field(description="Every scalar of the run's system.Metrics artifacts.")
    async def metrics(self, info: Info) -> list[Metric]:
        record = await ctx(info).loaders.runs.load(self.id)
        if record is None:
            return []
        return [m for a in sorted(record.artifacts, key=lambda a: a.id) for m in metrics_of(a)]


async def _run_artifacts(info: Info, run: str, type_name: str | None) -> list[Artifact]:
    from lineage.api.artifacts import artifact_type

    record = await ctx(info).loaders.runs.load(run)
    if record is None:
        return []
    chosen = [a for a in record.artifacts if type_name is None or a.type == type_name]
    return [artifact_type(a) for a in sorted(chosen, key=lambda a: a.id)]


async def _parent(info: Info, run: str, type_name: str) -> model.Context | None:
    c = ctx(info)
    context = await c.loaders.contexts.load(run)
    if context is None:
        return None
    parents = [p for p in await c.loaders.contexts.load_many(list(context.parents)) if p]
    chosen = [p for p in parents if p.type == type_name]
    visible = await c.keep_visible(chosen, lambda p: p.id)
    return visible[0] if visible else None


_FROM_EXECUTION = {
    model.ExecutionState.FAILED: RunState.FAILED,
    model.ExecutionState.RUNNING: RunState.RUNNING,
    model.ExecutionState.NEW: RunState.PENDING,
    model.ExecutionState.CANCELED: RunState.CANCELED,
    model.ExecutionState.COMPLETE: RunState.SUCCEEDED,
    model.ExecutionState.CACHED: RunState.SUCCEEDED,
}


async def run_state(c: RequestContext, run: str, properties: dict[str, object]) -> RunState:
    recorded = properties.get("state")
    if isinstance(recorded, str) and recorded in RunState.__members__:
        return RunState[recorded]
    record = await c.loaders.runs.load(run)
    if record is None:
        return RunState.RUNTIME_STATE_UNSPECIFIED
    states = [e.state for e in record.executions if e.type != LineageType.SNAPSHOT_EXECUTION]
    if not states:
        return RunState.RUNTIME_STATE_UNSPECIFIED
    for state in (model.ExecutionState.FAILED, model.ExecutionState.RUNNING):
        if state in states:
            return _FROM_EXECUTION[state]
    if model.ExecutionState.NEW in states:
        return RunState.PENDING
    # CANCELED on a task is KFP's "not triggered" (a branch not taken): not a failure.
    if all(
        s
        in (
            model.ExecutionState.COMPLETE,
            model.ExecutionState.CACHED,
            model.ExecutionState.CANCELED,
        )
        for s in states
    ):
        return RunState.SUCCEEDED
    return RunState.RUNTIME_STATE_UNSPECIFIED


@strawberry.type
class RunEdge:
    cursor: str
    node: Run


@strawberry.type(description="A page of runs.")
class RunConnection:
    edges: list[RunEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Run]:
        return [e.node for e in self.edges]


def pipeline_matches(parents: Sequence[str], wanted: str) -> bool:
    """A pipeline is named by its id (``pipeline:ns/name``) or its name."""
    for parent in parents:
        if not parent.startswith("pipeline:"):
            continue
        name = parent.removeprefix("pipeline:")
        if wanted in (parent, name, name.rsplit("/", 1)[-1]):
            return True
    return False


async def list_runs(
    c: RequestContext,
    pipeline: str | None,
    state: RunState | None,
    namespace: str | None,
    first: int,
    after: str | None,
) -> RunConnection:
    c.limits.check_page(first)

    async def fetch(token: str | None, size: int) -> Page[model.Context]:
        return await c.call(c.shared.store.list_contexts, KfpType.PIPELINE_RUN, size, token)

    async def keep(rows: Sequence[model.Context]) -> list[bool]:
        ok = [
            (pipeline is None or pipeline_matches(r.parents, pipeline))
            and (namespace is None or text(r.properties, "namespace") == namespace)
            for r in rows
        ]
        visible = await c.visible([r.id for r, good in zip(rows, ok, strict=True) if good])
        ok = [good and r.id in visible for r, good in zip(rows, ok, strict=True)]
        if state is not None:
            for i, row in enumerate(rows):
                if ok[i]:
                    ok[i] = await run_state(c, row.id, dict(row.properties)) == state
        return ok

    # Deriving a state reads each run: scan fewer of them per request.
    budget = c.limits.max_scan if state is None else max(first + 1, c.limits.max_scan // 25)
    found = await scan("runs", fetch, keep, first, after, budget)
    edges = [RunEdge(cursor=cur, node=Run.of(row)) for row, cur in found.items]
    return RunConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=found.has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=found.end_cursor,
        ),
    )


async def runs_by_ids(c: RequestContext, ids: Sequence[str]) -> list[Run]:
    contexts = [x for x in await c.loaders.contexts.load_many(list(dict.fromkeys(ids))) if x]
    runs = [x for x in contexts if x.type == KfpType.PIPELINE_RUN]
    return [Run.of(x) for x in await c.keep_visible(runs, lambda x: x.id)]
