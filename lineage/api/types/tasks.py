"""Tasks and the images they ran: KFP's executions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from lineage import model
from lineage.api.context import RequestContext
from lineage.api.types.artifacts import Artifact, artifact_type
from lineage.api.types.links import bind_tasks, runs_by_ids
from lineage.api.types.nodes import (
    ExecutionState,
    Json,
    LineageNode,
    Parameter,
    ctx,
    gql_field,
    ms_to_datetime,
    parameters_of,
    text,
)
from lineage.errors import BadInputError
from lineage.images.lineage import ran_reference
from lineage.images.reference import parse_reference
from lineage.model import Event, EventType, LineageType

if TYPE_CHECKING:
    from lineage.api.types.runs import Run

ArtifactRef = Annotated["Artifact", strawberry.lazy("lineage.api.types.artifacts")]
RunRef = Annotated["Run", strawberry.lazy("lineage.api.types.runs")]
Info = strawberry.Info[RequestContext, None]


def _tag_of(reference: str) -> str | None:
    """The tag of the reference a task ran; None when it ran a digest alone."""
    try:
        return parse_reference(reference).tag
    except BadInputError:
        return None


@strawberry.type(description="A container image: by digest once resolved, else as KFP named it.")
class Image:
    id: strawberry.ID | None = strawberry.field(description="Null until the digest is known.")
    reference: str
    repository: str | None
    tag: str | None
    digest: str | None
    known_by: str | None = strawberry.field(
        description="How the digest is known: pinned (spec), pod (status), "
        "registry (resolved later)."
    )

    @classmethod
    def of(cls, a: model.Artifact, how: str | None = None, ran: str | None = None) -> Image:
        """``ran``: the reference the task ran, whose tag is the task's own (one digest is
        often pushed under several tags); else the tag the node was recorded with."""
        repository = text(a.properties, "repository")
        digest = text(a.properties, "digest")
        if (repository is None or digest is None) and "@" in a.id:
            repo_part, _, digest_part = a.id.removeprefix("image:").rpartition("@")
            repository, digest = repository or repo_part, digest or digest_part
        return cls(
            id=strawberry.ID(a.id),
            reference=f"{repository}@{digest}",
            repository=repository,
            tag=_tag_of(ran) if ran else text(a.properties, "tag"),
            digest=digest,
            known_by=how,
        )

    @classmethod
    def unresolved(cls, reference: str) -> Image:
        repository, _, digest = reference.partition("@")
        name, tag = repository, None
        last = repository.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = repository.rsplit(":", 1)
        return cls(
            id=None,
            reference=reference,
            repository=name,
            tag=tag,
            digest=digest or None,
            known_by=None,
        )

    @gql_field(description="The tasks that ran this image.")
    async def tasks(self, info: Info) -> list[Task]:
        if self.id is None:
            return []
        c = ctx(info)
        events = await c.loaders.events_by_artifact.load(self.id)
        ids = [e.execution for e in events if e.type is EventType.INPUT]
        return await tasks_by_ids(c, ids)


@strawberry.type(description="A KFP task: one MLMD execution (container, importer or DAG).")
class Task(LineageNode):
    task_name: str | None = strawberry.field(description="KFP's task_name property.")
    state: ExecutionState  # type: ignore[valid-type]
    properties: Json

    @classmethod
    def of(cls, e: model.Execution) -> Task:
        return cls(
            id=strawberry.ID(e.id),
            kind=model.NodeKind.TASK,
            name=e.name or text(e.properties, "task_name", "display_name") or e.id,
            type=e.type,
            task_name=text(e.properties, "task_name"),
            state=e.state,
            properties=dict(e.properties),
        )

    @gql_field(description="Input parameters (KFP's `inputs` struct).")
    def parameters(self) -> list[Parameter]:
        return parameters_of(self.properties, "inputs")

    @gql_field(description="Output parameters (KFP's `outputs` struct).")
    def output_parameters(self) -> list[Parameter]:
        return parameters_of(self.properties, "outputs")

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        stamp = await ctx(info).loaders.stamps.load(self.id)
        return ms_to_datetime(stamp.created_ms) if stamp else None

    @gql_field(description="The run this task is part of.")
    async def run(self, info: Info) -> RunRef | None:
        c = ctx(info)
        run_ids = await c.task_runs(self.id)
        runs = await runs_by_ids(c, run_ids)
        return runs[0] if runs else None

    @gql_field(description="The image the task ran.")
    async def image(self, info: Info) -> Image | None:
        c = ctx(info)
        for event, artifact in await _linked(c, self.id, EventType.INPUT):
            if artifact.type == LineageType.IMAGE:
                how = event.path[1] if len(event.path) > 1 else None
                return Image.of(
                    artifact, str(how) if how is not None else None, ran_reference(event)
                )
        reference = text(self.properties, "image")
        return Image.unresolved(reference) if reference else None

    @gql_field(description="Artifacts the task read (its image excluded).")
    async def inputs(self, info: Info, key: str | None = None) -> list[ArtifactRef]:
        return await _artifacts_of(info, self.id, EventType.INPUT, key)

    @gql_field(description="Artifacts the task wrote.")
    async def outputs(self, info: Info, key: str | None = None) -> list[ArtifactRef]:
        return await _artifacts_of(info, self.id, EventType.OUTPUT, key)


async def _linked(
    c: RequestContext, execution_id: str, event_type: EventType
) -> list[tuple[Event, model.Artifact]]:
    events = [
        e for e in await c.loaders.events_by_execution.load(execution_id) if e.type is event_type
    ]
    artifacts = await c.loaders.artifacts.load_many([e.artifact for e in events])
    return [(e, a) for e, a in zip(events, artifacts, strict=True) if a is not None]


async def _artifacts_of(
    info: Info, execution_id: str, event_type: EventType, key: str | None
) -> list[Artifact]:
    c = ctx(info)
    linked = [
        a
        for e, a in await _linked(c, execution_id, event_type)
        if a.type != LineageType.IMAGE and (key is None or e.key == key)
    ]
    unique = list({a.id: a for a in linked}.values())
    visible = await c.keep_visible(unique, lambda a: a.id)
    return [artifact_type(a) for a in sorted(visible, key=lambda a: a.id)]


async def tasks_by_ids(c: RequestContext, ids: Sequence[str]) -> list[Task]:
    executions = [x for x in await c.loaders.executions.load_many(list(dict.fromkeys(ids))) if x]
    tasks = [x for x in executions if x.type != LineageType.SNAPSHOT_EXECUTION]
    visible = await c.keep_visible(tasks, lambda x: x.id)
    return [Task.of(x) for x in sorted(visible, key=lambda x: x.id)]


bind_tasks(tasks_by_ids)
