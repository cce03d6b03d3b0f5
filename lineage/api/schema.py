"""The schema: the root Query composed from the families of types, with limits and codes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.types.nodes import SelectedField

from lineage import model
from lineage.api.context import RequestContext
from lineage.api.fastpath import FastExecutor
from lineage.api.guards.errors import tag_errors
from lineage.api.guards.guard import extensions
from lineage.api.guards.limits import Limits
from lineage.api.types import lookup
from lineage.api.types.analysis import (
    DataDiff,
    Diff,
    ImageDiff,
    Impact,
    ModelRanking,
    ParameterDiff,
    Path,
    RunDiff,
    SnapshotDiff,
    SourceDiff,
    SpecDiff,
    impact_of,
    rank_models,
    require_one_source,
)
from lineage.api.types.artifacts import Artifact, ArtifactConnection, Snapshot, list_artifacts
from lineage.api.types.lineage import LineageGraph
from lineage.api.types.nodes import (
    Direction,
    LineageNode,
    NodeKind,
    Order,
    ctx,
    datetime_to_ms,
    gql_field,
)
from lineage.api.types.rebuild_node import Rebuild
from lineage.api.types.rebuilds import (
    Hermeticity,
    RebuildPlan,
    hermeticity,
    rebuild_by_id,
    rebuild_plan,
    rebuilds_of,
)
from lineage.api.types.runs import (
    SCAN_NOTE,
    Pipeline,
    PipelineVersion,
    Run,
    RunConnection,
    list_runs,
)
from lineage.api.types.tasks import Task
from lineage.errors import BadInputError
from lineage.query import types as q
from lineage.query.service import check_depth
from lineage.services.run_state import RunState

Info = strawberry.Info[RequestContext, None]
FromId = Annotated[strawberry.ID, strawberry.argument(name="from")]


@strawberry.type(description="Who the server thinks is asking.")
class Identity:
    subject: str
    auditor: bool
    namespaces: list[str]
    via: str


@strawberry.type
class Query:
    @gql_field(description="The caller's identity and scope.")
    def whoami(self, info: Info) -> Identity:
        p = ctx(info).principal
        return Identity(
            subject=p.subject, auditor=p.auditor, namespaces=sorted(p.namespaces), via=p.via
        )

    @gql_field(
        description="Any lineage node by id, in its own type. Here and in every lookup by id, "
        "a node outside the token's namespaces is NOT_FOUND, exactly as an unknown id."
    )
    async def node(self, info: Info, id: strawberry.ID) -> LineageNode | None:
        return await lookup.node_by_id(ctx(info), id)

    @strawberry.field
    async def pipeline(self, info: Info, id: strawberry.ID) -> Pipeline | None:
        return await lookup.pipeline_by_id(ctx(info), id)

    @gql_field(description="A run by id (run:<KFP run id>).")
    async def run(self, info: Info, id: strawberry.ID) -> Run | None:
        return await lookup.run_by_id(ctx(info), id)

    @gql_field(
        description="Runs, filtered by pipeline (id or name), state and namespace, "
        "in the order they were recorded. Naming a namespace the token does not reach is "
        "FORBIDDEN. " + SCAN_NOTE
    )
    async def runs(
        self,
        info: Info,
        pipeline: str | None = None,
        state: RunState | None = None,
        namespace: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> RunConnection:
        return await list_runs(ctx(info), pipeline, state, namespace, first, after)

    @gql_field(description="A task by id (task:<run id>/<task path>).")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        return await lookup.task_by_id(ctx(info), id)

    @gql_field(description="An artifact by id (artifact:<uri>).")
    async def artifact(self, info: Info, id: strawberry.ID) -> Artifact | None:
        return await lookup.artifact_by_id(ctx(info), id)

    @gql_field(description="Artifacts by MLMD type (system.Model...), content digest or URI.")
    async def artifacts(
        self,
        info: Info,
        type: str | None = None,
        digest: str | None = None,
        uri: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ArtifactConnection:
        return await list_artifacts(ctx(info), type, digest, uri, first, after)

    @gql_field(description="A snapshot by id (snapshot:sha256:<root>).")
    async def snapshot(self, info: Info, id: strawberry.ID) -> Snapshot | None:
        return await lookup.snapshot_by_id(ctx(info), id)

    @gql_field(
        description="The bounded lineage around a node. UPSTREAM walks against the data "
        "flow (what went in), DOWNSTREAM along it (what came out). `truncated` says whether "
        "`depth` or `limit` cut the walk; it never times out in silence."
    )
    async def lineage(
        self,
        info: Info,
        id: strawberry.ID,
        direction: Direction = model.Direction.UPSTREAM,  # type: ignore[valid-type]
        depth: int = q.DEFAULT_DEPTH,
        limit: int = q.DEFAULT_LIMIT,
        kinds: list[NodeKind] | None = None,  # type: ignore[valid-type]
        as_of: datetime | None = None,
    ) -> LineageGraph:
        c = ctx(info)
        c.limits.check_lineage_limit(limit)
        check_depth(depth)
        query = q.LineageQuery(
            start=str(id),
            direction=direction,
            depth=depth,
            limit=limit,
            kinds=frozenset(kinds) if kinds else None,
            as_of_ms=datetime_to_ms(as_of),
        )
        await lookup.require_node(c, id)  # NOT_FOUND (unknown or hidden) before any walk
        return LineageGraph.of(await c.read(c.service.lineage, query))

    @gql_field(
        description="The system.Model artifacts downstream of an image digest, an artifact "
        "or a snapshot (give exactly one), with totalCount across pages."
    )
    async def impact(
        self,
        info: Info,
        image_digest: str | None = None,
        artifact_id: strawberry.ID | None = None,
        snapshot_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
        as_of: datetime | None = None,
    ) -> Impact:
        c = ctx(info)
        require_one_source(image_digest, artifact_id, snapshot_id)
        c.limits.check_page(first)
        for given in (artifact_id, snapshot_id):
            if given is not None:
                await lookup.node_by_id(c, given)
        query = q.ImpactQuery(
            image=image_digest,
            artifact=artifact_id,
            snapshot=snapshot_id,
            first=first,
            after=c.cursors.open_text("impact", after),
            as_of_ms=datetime_to_ms(as_of),
            count=_asks_for_totals(info),
            count_runs=_asks_for_totals(info, ("totalRuns",)),
        )
        return await impact_of(c, await c.read(c.service.impact, query), after)

    @gql_field(
        description="What differs upstream of two model artifacts: data, snapshots, "
        "parameters, images, source, spec and run, as typed entries."
    )
    async def diff(
        self, info: Info, from_: FromId, to: strawberry.ID, as_of: datetime | None = None
    ) -> Diff:
        c = ctx(info)
        await lookup.require_node(c, from_)
        await lookup.require_node(c, to)
        return Diff.of(await c.read(c.service.diff, str(from_), str(to), datetime_to_ms(as_of)))

    @gql_field(description="A shortest path between two nodes along the data flow.")
    async def path(self, info: Info, from_: FromId, to: strawberry.ID, max_depth: int = 50) -> Path:
        c = ctx(info)
        if not 0 <= max_depth <= c.limits.max_depth * 10:
            raise BadInputError(f"maxDepth must be between 0 and {c.limits.max_depth * 10}")
        await lookup.require_node(c, from_)
        await lookup.require_node(c, to)
        return Path.of(await c.read(c.service.path, str(from_), str(to), max_depth))

    @gql_field(
        description="The models of a pipeline's runs (a hyperparameter sweep) ranked by a "
        "named metric of the same run; `first: 1` is the best."
    )
    async def best_models(
        self,
        info: Info,
        pipeline: str,
        metric: str,
        order: Order = Order.DESC,
        first: int = 1,
    ) -> ModelRanking:
        return await rank_models(ctx(info), pipeline, metric, order, first)

    @gql_field(
        description="A model's rebuild plan (`lineage rebuild plan`): the content-addressed "
        "build definition, with its hermeticity gaps."
    )
    async def rebuild_plan(self, info: Info, model_id: strawberry.ID) -> RebuildPlan:
        return await rebuild_plan(ctx(info), str(model_id))

    @gql_field(
        description="A model's hermeticity scorecard (`lineage rebuild check`, without "
        "probing environments): pinned references, gaps, the last rebuild."
    )
    async def hermeticity(self, info: Info, model_id: strawberry.ID) -> Hermeticity:
        return await hermeticity(ctx(info), str(model_id))

    @gql_field(
        description="Recorded rebuilds, newest first: of a model (or comparing the artifact) "
        "when `modelId` is given, else all."
    )
    async def rebuilds(
        self, info: Info, model_id: strawberry.ID | None = None, first: int = 20
    ) -> list[Rebuild]:
        return await rebuilds_of(ctx(info), str(model_id) if model_id else None, first)

    @gql_field(description="A rebuild by id (rebuild:<sha256>).")
    async def rebuild(self, info: Info, id: strawberry.ID) -> Rebuild:
        return await rebuild_by_id(ctx(info), str(id))


# Types reached only through an interface must be named, or the schema would omit them.
EXTRA_TYPES = (
    PipelineVersion,
    Snapshot,
    DataDiff,
    SnapshotDiff,
    ParameterDiff,
    ImageDiff,
    SourceDiff,
    SpecDiff,
    RunDiff,
    Rebuild,
)


class LineageSchema(strawberry.Schema):
    """Gives every error its code (``lineage.api.guards.errors``) before it leaves the server."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        tag_errors(errors)


def build_schema(limits: Limits | None = None) -> LineageSchema:
    return LineageSchema(
        query=Query,
        types=list(EXTRA_TYPES),
        extensions=extensions(limits or Limits()),
        execution_context_class=FastExecutor,
    )


def sdl(schema: Any | None = None) -> str:
    """The schema in SDL, as exported to graphql/schema.graphql."""
    return (schema or build_schema()).as_str() + "\n"


def _asks_for_totals(info: Info, names: tuple[str, ...] = ("totalCount", "totalRuns")) -> bool:
    """Whether the impact selection reads one of these totals. Without one, a reader
    may answer the page without walking everything downstream (or, for ``totalRuns``,
    count the models alone). A fragment counts as asking."""
    for field in info.selected_fields:
        for child in field.selections:
            if not isinstance(child, SelectedField) or child.name in names:
                return True
    return False
