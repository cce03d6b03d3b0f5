"""Questions about the graph: impact, diff, path, and the best model of a sweep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import strawberry

from lineage import model
from lineage.api.types.artifacts import Artifact
from lineage.api.types.lineage import Edge, NodeRef
from lineage.api.types.lookup import missing
from lineage.api.types.nodes import Change, DiffCategory, Metric, Order
from lineage.api.types.paging import PageInfo, scan
from lineage.api.types.runs import Run, pipeline_matches, runs_by_ids
from lineage.errors import BadInputError
from lineage.query import traverse
from lineage.query import types as q
from lineage.services import ranking
from lineage.store.port import Page

if TYPE_CHECKING:
    from lineage.api.context import RequestContext


@strawberry.type
class ImpactEdge:
    cursor: str
    node: Artifact


@strawberry.type(description="The system.Model artifacts (and runs) downstream of a source.")
class Impact:
    total_count: int = strawberry.field(description="Downstream models, across all pages.")
    total_runs: int = strawberry.field(description="Downstream runs, across all pages.")
    truncated: bool = strawberry.field(
        description="The walk hit its node budget: the totals are lower bounds."
    )
    sources: list[NodeRef]
    edges: list[ImpactEdge]
    runs: list[Run] = strawberry.field(description="This page of downstream runs.")
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Artifact]:
        return [e.node for e in self.edges]


def require_one_source(
    image_digest: str | None, artifact_id: str | None, snapshot_id: str | None
) -> None:
    """The shape of impact's arguments, checked before any of them is looked up: with two
    sources, one of them unknown, the fault is the request's shape, not the unknown id."""
    given = [
        name
        for name, value in (
            ("imageDigest", image_digest),
            ("artifactId", artifact_id),
            ("snapshotId", snapshot_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise BadInputError(
            "impact starts from exactly one source (imageDigest, artifactId or snapshotId), "
            f"got {' and '.join(given) if given else 'none'}"
        )


async def impact_of(c: RequestContext, answer: q.ImpactAnswer, after: str | None) -> Impact:
    model_ids = [m.id for m in answer.models]
    records = {a.id: a for a in await c.loaders.artifacts.load_many(model_ids) if a is not None}
    last_run = answer.runs[-1].id if answer.runs else None
    seal = c.cursors.seal
    edges = [
        ImpactEdge(
            cursor=seal("impact", traverse.encode_cursor(i, last_run)),
            node=Artifact.of(records[i]),
        )
        for i in model_ids
        if i in records
    ]
    runs = await runs_by_ids(c, [r.id for r in answer.runs])
    return Impact(
        total_count=answer.total_models,
        total_runs=answer.total_runs,
        truncated=answer.truncated,
        sources=list(answer.sources),  # type: ignore[arg-type]
        edges=edges,
        runs=runs,
        page_info=PageInfo(
            has_next_page=answer.cursor is not None,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=seal("impact", answer.cursor) if answer.cursor is not None else None,
        ),
    )


@strawberry.interface(description="One difference between the upstream lineage of two models.")
class DiffEntry:
    category: DiffCategory  # type: ignore[valid-type]
    key: str
    before: str | None = strawberry.field(description="The value upstream of `from`.")
    after: str | None = strawberry.field(description="The value upstream of `to`.")
    change: Change  # type: ignore[valid-type]


@strawberry.type(description="Input data that differs (by digest, else URI).")
class DataDiff(DiffEntry):
    task: str
    input: str


@strawberry.type(description="A snapshot of upstream data that differs.")
class SnapshotDiff(DiffEntry):
    pass


@strawberry.type(description="A task input parameter that differs.")
class ParameterDiff(DiffEntry):
    task: str
    parameter: str


@strawberry.type(description="A container image that differs (digest, tag).")
class ImageDiff(DiffEntry):
    task: str


@strawberry.type(description="Component source that differs.")
class SourceDiff(DiffEntry):
    pass


@strawberry.type(description="The pipeline spec (version) that differs.")
class SpecDiff(DiffEntry):
    pass


@strawberry.type(description="The producing run that differs (id, state).")
class RunDiff(DiffEntry):
    pass


def _split(key: str) -> tuple[str, str]:
    task, _, rest = key.rpartition("/")
    return (task, rest) if task else (key, "")


def diff_entry(e: q.DiffEntry) -> DiffEntry:
    common: dict[str, Any] = {
        "category": e.category,
        "key": e.key,
        "before": e.before,
        "after": e.after,
        "change": e.change,
    }
    if e.category is q.DiffCategory.DATA:
        task, name = _split(e.key)
        return DataDiff(task=task, input=name, **common)
    if e.category is q.DiffCategory.PARAMETER:
        task, name = _split(e.key)
        return ParameterDiff(task=task, parameter=name, **common)
    if e.category is q.DiffCategory.IMAGE:
        return ImageDiff(task=e.key, **common)
    kinds: dict[q.DiffCategory, type[DiffEntry]] = {
        q.DiffCategory.SNAPSHOT: SnapshotDiff,
        q.DiffCategory.SOURCE: SourceDiff,
        q.DiffCategory.SPEC: SpecDiff,
        q.DiffCategory.RUN: RunDiff,
    }
    return kinds.get(e.category, SourceDiff)(**common)


@strawberry.type(description="What differs upstream of two model artifacts.")
class Diff:
    from_: NodeRef = strawberry.field(name="from")
    to: NodeRef
    same: bool
    truncated: bool = strawberry.field(
        description="An upstream walk was cut: the diff may miss entries."
    )
    entries: list[DiffEntry]

    @classmethod
    def of(cls, answer: q.DiffAnswer) -> Diff:
        return cls(
            from_=answer.a,  # type: ignore[arg-type]
            to=answer.b,  # type: ignore[arg-type]
            same=answer.same,
            truncated=answer.truncated,
            entries=[diff_entry(e) for e in answer.entries],
        )


@strawberry.type(description="A shortest path along the data flow.")
class Path:
    from_: strawberry.ID = strawberry.field(name="from")
    to: strawberry.ID
    found: bool
    reversed: bool = strawberry.field(
        description="The data flows from `to` to `from`; the path is given in that direction."
    )
    truncated: bool
    nodes: list[NodeRef]
    edges: list[Edge]

    @classmethod
    def of(cls, answer: q.PathAnswer) -> Path:
        return cls(
            from_=strawberry.ID(answer.source),
            to=strawberry.ID(answer.target),
            found=answer.found,
            reversed=answer.reversed,
            truncated=answer.truncated,
            nodes=list(answer.nodes),  # type: ignore[arg-type]
            edges=list(answer.edges),  # type: ignore[arg-type]
        )


@strawberry.type(description="A model ranked by one metric of its run.")
class RankedModel:
    rank: int
    value: float
    metric: Metric
    model: Artifact
    run: Run


@strawberry.type(description="Models of a pipeline's runs ranked by one metric (a sweep's best).")
class ModelRanking:
    models: list[RankedModel]
    runs_scanned: int
    models_ranked: int
    truncated: bool = strawberry.field(
        description="More runs exist than one request scans: the ranking covers runs_scanned."
    )


# --- the best model of a sweep ----------------------------------------------


async def _require_pipeline(c: RequestContext, pipeline: str) -> None:
    """NOT_FOUND unless a visible pipeline has this id or name (as runs(pipeline:) names it).

    Pipelines are few next to runs, so they are scanned by the same bounded scan; a scan
    that ends at its budget without a match cannot tell, and lets the empty answer stand.
    """

    async def fetch(token: str | None, size: int) -> Page[model.Context]:
        return await c.call(c.shared.catalog.pipeline_page, size, token)

    async def keep(rows: Sequence[model.Context]) -> list[bool]:
        named = [r.id for r in rows if pipeline_matches([r.id], pipeline)]
        visible = await c.visible(named)
        return [r.id in visible for r in rows]

    found = await scan("pipelines", fetch, keep, 1, None, c.limits.max_scan, c.cursors)
    if not found.items and not found.has_next:
        raise missing("pipeline", pipeline)


async def rank_models(
    c: RequestContext, pipeline: str, metric: str, order: Order, first: int
) -> ModelRanking:
    c.limits.check_page(first)
    if not metric:
        raise BadInputError("metric must name a metric, e.g. accuracy")

    async def fetch(token: str | None, size: int) -> Page[model.Context]:
        return await c.call(c.shared.catalog.run_page, size, token)

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
    rows = [row for row, _ in runs.items]
    records = await c.loaders.runs.load_many([row.id for row in rows])
    ranked = ranking.rank_models(zip(rows, records, strict=True), metric, order is Order.DESC)
    models = [
        RankedModel(
            rank=position,
            value=r.value,
            metric=Metric(name=metric, value=r.value, artifact_id=strawberry.ID(r.metrics.id)),
            model=Artifact.of(r.model),
            run=Run.of(r.run),
        )
        for position, r in enumerate(ranked[:first], start=1)
    ]
    return ModelRanking(
        models=models,
        runs_scanned=len(runs.items),
        models_ranked=len(ranked),
        truncated=runs.has_next,
    )
