"""Pipelines, pipeline versions and runs: KFP's contexts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated

import strawberry

from lineage import model
from lineage.api.context import RequestContext
from lineage.api.guards.errors import ForbiddenError
from lineage.api.types.artifacts import Artifact, artifact_type
from lineage.api.types.links import bind_runs
from lineage.api.types.nodes import (
    Json,
    LineageNode,
    Metric,
    ctx,
    gql_field,
    metrics_of,
    ms_to_datetime,
    text,
)
from lineage.api.types.paging import PageInfo, scan
from lineage.api.types.recurring import RecurringRun
from lineage.api.types.tasks import Task
from lineage.model import KfpType, LineageType
from lineage.services.run_state import RunState, derived_state, recorded_state
from lineage.services.scope import pipeline_namespace
from lineage.store.port import Page

ArtifactRef = Annotated["Artifact", strawberry.lazy("lineage.api.types.artifacts")]
TaskRef = Annotated["Task", strawberry.lazy("lineage.api.types.tasks")]
Info = strawberry.Info[RequestContext, None]

# The paging contract of every filtered run list, in its field's description.
SCAN_NOTE = (
    "A page holds `first` runs whenever that many match. To filter, a request reads at "
    "most the server's scan limit of runs (LINEAGE_API__MAX_SCAN, 5,000 by default): a "
    "page that reaches it ends there, possibly short of `first` with hasNextPage true; "
    "continue from endCursor."
)


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

    @gql_field(description="Runs of this pipeline, in the order they were recorded. " + SCAN_NOTE)
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

    @gql_field(description="The recurring run that started this run (KFP's recurring_run_id).")
    async def recurring_run(self, info: Info) -> RecurringRun | None:
        parent = await _parent(info, self.id, LineageType.RECURRING_RUN)
        return RecurringRun.of(parent) if parent else None

    @gql_field(description="The run's state: as recorded, else derived from its tasks.")
    async def state(self, info: Info) -> RunState:
        return await run_state(ctx(info), self.id, self.properties)

    @gql_field(description="The run's tasks, sorted by id.")
    async def tasks(self, info: Info, name: str | None = None) -> list[TaskRef]:
        record = await ctx(info).loaders.runs.load(self.id)
        if record is None:
            return []
        tasks = [Task.of(e) for e in record.executions if e.type != LineageType.SNAPSHOT_EXECUTION]
        return sorted(
            (t for t in tasks if name is None or name in (t.name, t.task_name)),
            key=lambda t: t.id,
        )

    @gql_field(description="Artifacts attributed to the run (images included), by id.")
    async def artifacts(self, info: Info, type: str | None = None) -> list[ArtifactRef]:
        return await _run_artifacts(info, self.id, type)

    @gql_field(
        description=(
            "The system.Model artifacts the run's tasks output (not models it only read, "
            "such as a baseline another run made)."
        )
    )
    async def models(self, info: Info) -> list[ArtifactRef]:
        return await _run_artifacts(info, self.id, KfpType.MODEL, made=True)

    @gql_field(description="Every scalar of the run's system.Metrics artifacts.")
    async def metrics(self, info: Info) -> list[Metric]:
        record = await ctx(info).loaders.runs.load(self.id)
        if record is None:
            return []
        return [m for a in sorted(record.artifacts, key=lambda a: a.id) for m in metrics_of(a)]


async def _run_artifacts(
    info: Info, run: str, type_name: str | None, made: bool = False
) -> list[Artifact]:
    """The artifacts attributed to the run; ``made``: only those its tasks output (TFX
    also attributes to a run the inputs it read from earlier runs)."""
    record = await ctx(info).loaders.runs.load(run)
    if record is None:
        return []
    chosen = [a for a in record.artifacts if type_name is None or a.type == type_name]
    if made:
        tasks = {e.id for e in record.executions}
        outputs = {
            e.artifact
            for e in record.events
            if e.type is model.EventType.OUTPUT and e.execution in tasks
        }
        chosen = [a for a in chosen if a.id in outputs]
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


async def run_state(c: RequestContext, run: str, properties: Mapping[str, object]) -> RunState:
    recorded = recorded_state(properties)
    if recorded is not None:
        return recorded
    return derived_state(await c.loaders.runs.load(run))


async def run_states(c: RequestContext, runs: Sequence[model.Context]) -> dict[str, RunState]:
    """The states of many runs. Those without a recorded state are read in one DataLoader
    batch (one worker call for all), which also primes the loaders, so resolving the
    runs' ``state`` and ``tasks`` afterwards reads nothing again."""
    states: dict[str, RunState] = {}
    unrecorded: list[str] = []
    for run in runs:
        recorded = recorded_state(run.properties)
        if recorded is None:
            unrecorded.append(run.id)
        else:
            states[run.id] = recorded
    records = await c.loaders.runs.load_many(unrecorded) if unrecorded else []
    for run_id, record in zip(unrecorded, records, strict=True):
        states[run_id] = derived_state(record)
    return states


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
    if namespace is not None and not c.principal.sees_namespace(namespace):
        # The client named the namespace itself, so refusing it reveals nothing.
        raise ForbiddenError(f"namespace {namespace!r} is outside the namespaces of this token")

    async def fetch(token: str | None, size: int) -> Page[model.Context]:
        return await c.call(c.shared.catalog.run_page, size, token)

    def in_namespace(run: model.Context) -> bool:
        # A run recorded without a namespace belongs to the default one, as for visibility.
        return (text(run.properties, "namespace") or c.shared.default_namespace) == namespace

    async def keep(rows: Sequence[model.Context]) -> list[bool]:
        candidates = [
            r
            for r in rows
            if (pipeline is None or pipeline_matches(r.parents, pipeline))
            and (namespace is None or in_namespace(r))
        ]
        visible = await c.visible([r.id for r in candidates])
        candidates = [r for r in candidates if r.id in visible]
        if state is not None:
            # The whole store page at once: one batch of run reads, not one per run.
            states = await run_states(c, candidates)
            candidates = [r for r in candidates if states[r.id] == state]
        kept = {r.id for r in candidates}
        return [r.id in kept for r in rows]

    # Batched, deriving states costs one worker call per store page, so a state filter
    # scans as far as any other filter.
    found = await scan("runs", fetch, keep, first, after, c.limits.max_scan, c.cursors)
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


bind_runs(runs_by_ids)
