"""Artifacts, snapshots and metrics: KFP's data side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from lineage import model
from lineage.api.context import RequestContext
from lineage.api.types.links import runs_by_ids, tasks_by_ids
from lineage.api.types.nodes import (
    ArtifactState,
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
from lineage.model import EventType, LineageType
from lineage.store.port import Page

if TYPE_CHECKING:
    from lineage.api.types.runs import Run
    from lineage.api.types.tasks import Task

TaskRef = Annotated["Task", strawberry.lazy("lineage.api.types.tasks")]
RunRef = Annotated["Run", strawberry.lazy("lineage.api.types.runs")]
Info = strawberry.Info[RequestContext, None]

# Where sources put an artifact's content digest: the query engine's ``digest``,
# or the ``content_digest`` a snapshot or digest pass adds.
DIGEST_KEYS = ("digest", "content_digest")


def digest_of(a: model.Artifact) -> str | None:
    return text(a.properties, *DIGEST_KEYS)


@strawberry.type(description="An MLMD artifact: a dataset, model, metrics, or any KFP artifact.")
class Artifact(LineageNode):
    uri: str
    digest: str | None = strawberry.field(description="The content digest, when one is known.")
    state: ArtifactState  # type: ignore[valid-type]
    metadata: Json = strawberry.field(description="The artifact's properties, as KFP wrote them.")

    @classmethod
    def of(cls, a: model.Artifact) -> Artifact:
        return cls(
            id=strawberry.ID(a.id),
            kind=model.artifact_kind(a.type),
            name=a.name or text(a.properties, "display_name") or a.uri or a.id,
            type=a.type,
            uri=a.uri,
            digest=digest_of(a),
            state=a.state,
            metadata=dict(a.properties),
        )

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        stamp = await ctx(info).loaders.stamps.load(self.id)
        return ms_to_datetime(stamp.created_ms) if stamp else None

    @gql_field(description="The task that wrote it (null for imported data).")
    async def producer(self, info: Info) -> TaskRef | None:
        tasks = await _tasks_linked(ctx(info), [self.id], EventType.OUTPUT)
        return tasks[0] if tasks else None

    @gql_field(description="The tasks that read it.")
    async def consumers(self, info: Info) -> list[TaskRef]:
        return await _tasks_linked(ctx(info), [self.id], EventType.INPUT)

    @gql_field(description="The run of the task that wrote it.")
    async def run(self, info: Info) -> RunRef | None:
        c = ctx(info)
        tasks = await _tasks_linked(c, [self.id], EventType.OUTPUT)
        if not tasks:
            return None
        runs = await runs_by_ids(c, await c.task_runs(tasks[0].id))
        return runs[0] if runs else None

    @gql_field(description="The scalars of a system.Metrics artifact.")
    async def metrics(self, info: Info) -> list[Metric]:
        record = await ctx(info).loaders.artifacts.load(self.id)
        return metrics_of(record) if record else []

    @gql_field(description="Snapshots taken of this artifact's content.")
    async def snapshots(self, info: Info) -> list[Snapshot]:
        c = ctx(info)
        acts = await _snapshottings(c, [self.id], EventType.INPUT)
        outputs = await _artifacts_linked(c, acts, EventType.OUTPUT)
        return [Snapshot.of(a) for a in outputs if a.type == LineageType.SNAPSHOT]


@strawberry.type(description="A content-addressed snapshot of an artifact's data.")
class Snapshot(LineageNode):
    uri: str
    root: str | None = strawberry.field(
        description="The Merkle root of the snapshot's files (sha256 hex)."
    )
    metadata: Json

    @classmethod
    def of(cls, a: model.Artifact) -> Snapshot:
        root = text(a.properties, "root")
        if root is None and a.id.startswith("snapshot:sha256:"):
            root = a.id.removeprefix("snapshot:sha256:")
        return cls(
            id=strawberry.ID(a.id),
            kind=model.NodeKind.SNAPSHOT,
            name=a.name or a.id,
            type=a.type,
            uri=a.uri,
            root=root,
            metadata=dict(a.properties),
        )

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        stamp = await ctx(info).loaders.stamps.load(self.id)
        return ms_to_datetime(stamp.created_ms) if stamp else None

    @gql_field(description="The artifacts this snapshot holds the content of.")
    async def sources(self, info: Info) -> list[Artifact]:
        c = ctx(info)
        acts = await _snapshottings(c, [self.id], EventType.OUTPUT)
        found = await _artifacts_linked(c, acts, EventType.INPUT)
        return [Artifact.of(a) for a in found]

    @gql_field(description="The tasks that read this content: the snapshot or its sources.")
    async def consumers(self, info: Info) -> list[TaskRef]:
        return await _snapshot_consumers(ctx(info), self.id)

    @gql_field(description="The runs that consumed this content.")
    async def runs(self, info: Info) -> list[RunRef]:
        c = ctx(info)
        tasks = await _snapshot_consumers(c, self.id)
        run_ids = [r for t in tasks for r in await c.task_runs(t.id)]
        return sorted(await runs_by_ids(c, run_ids), key=lambda r: r.id)


async def _snapshot_consumers(c: RequestContext, snapshot: str) -> list[Task]:
    acts = await _snapshottings(c, [snapshot], EventType.OUTPUT)
    sources = await _artifacts_linked(c, acts, EventType.INPUT)
    return await _tasks_linked(c, [snapshot, *(a.id for a in sources)], EventType.INPUT)


async def _snapshottings(c: RequestContext, ids: Sequence[str], event_type: EventType) -> list[str]:
    """The snapshotting executions that read (INPUT) or wrote (OUTPUT) these artifacts."""
    events = [e for group in await c.loaders.events_by_artifact.load_many(list(ids)) for e in group]
    ids_ = [e.execution for e in events if e.type is event_type]
    executions = await c.loaders.executions.load_many(list(dict.fromkeys(ids_)))
    return [x.id for x in executions if x and x.type == LineageType.SNAPSHOT_EXECUTION]


async def _artifacts_linked(
    c: RequestContext, executions: Sequence[str], event_type: EventType
) -> list[model.Artifact]:
    groups = await c.loaders.events_by_execution.load_many(list(executions))
    ids = list(dict.fromkeys(e.artifact for g in groups for e in g if e.type is event_type))
    found = [a for a in await c.loaders.artifacts.load_many(ids) if a is not None]
    visible = await c.keep_visible(found, lambda a: a.id)
    return sorted(visible, key=lambda a: a.id)


async def _tasks_linked(c: RequestContext, ids: Sequence[str], event_type: EventType) -> list[Task]:
    groups = await c.loaders.events_by_artifact.load_many(list(ids))
    return await tasks_by_ids(c, [e.execution for g in groups for e in g if e.type is event_type])


def artifact_type(a: model.Artifact) -> Artifact:
    """Every stored artifact is an Artifact here; snapshots and images also have their own view."""
    return Artifact.of(a)


@strawberry.type
class ArtifactEdge:
    cursor: str
    node: Artifact


@strawberry.type(description="A page of artifacts.")
class ArtifactConnection:
    edges: list[ArtifactEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Artifact]:
        return [e.node for e in self.edges]


async def list_artifacts(
    c: RequestContext,
    type: str | None,
    digest: str | None,
    uri: str | None,
    first: int,
    after: str | None,
) -> ArtifactConnection:
    c.limits.check_page(first)

    async def fetch(token: str | None, size: int) -> Page[model.Artifact]:
        return await c.call(c.shared.catalog.artifact_page, type, size, token)

    async def keep(rows: Sequence[model.Artifact]) -> list[bool]:
        ok = [
            (digest is None or digest in (digest_of(r), text(r.properties, "digest")))
            and (uri is None or r.uri == uri)
            for r in rows
        ]
        visible = await c.visible([r.id for r, good in zip(rows, ok, strict=True) if good])
        return [good and r.id in visible for r, good in zip(rows, ok, strict=True)]

    found = await scan("artifacts", fetch, keep, first, after, c.limits.max_scan, c.cursors)
    shown = await c.loaders.redact([row for row, _ in found.items])
    edges = [
        ArtifactEdge(cursor=cur, node=Artifact.of(row))
        for row, (_, cur) in zip(shown, found.items, strict=True)
    ]
    return ArtifactConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=found.has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=found.end_cursor,
        ),
    )
