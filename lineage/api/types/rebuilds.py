"""Rebuilds: a model's rebuild plan, its hermeticity scorecard, and its recorded rebuilds.

Scoping: the model must be visible (NOT_FOUND otherwise, as for any lookup); a plan or
scorecard that reaches a run the token does not see is FORBIDDEN (it would show that
run's facts); a rebuild is listed only when the token sees every artifact it compared
(``lineage.services.scope``). The scorecard here probes no environment: a request does
not reach out to registries and stores (``lineage rebuild check`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry

from lineage import model
from lineage.api.guards.errors import ForbiddenError
from lineage.api.types import lookup
from lineage.api.types.nodes import Json
from lineage.api.types.rebuild_node import Rebuild
from lineage.rebuild.planner import Plan, build_plan
from lineage.rebuild.rebuilds import get_rebuild, list_rebuilds
from lineage.rebuild.scorecard import NEVER, pinned_shares
from lineage.rebuild.verdict import Verdict

if TYPE_CHECKING:
    from lineage.api.context import RequestContext


@strawberry.type(description="A reason a rebuild plan is not hermetic.")
class HermeticityGap:
    kind: str
    subject: str
    reason: str


@strawberry.type(description="A model's rebuild plan: content-addressed JSON and its gaps.")
class RebuildPlan:
    # Not ``id``: a plan is a document, not a lineage node that node(id:) finds.
    plan_id: str = strawberry.field(description="sha256 of the plan's canonical JSON.")
    model_id: strawberry.ID
    document: Json = strawberry.field(description="The plan, as `lineage rebuild plan` writes it.")
    gaps: list[HermeticityGap]


@strawberry.type(description="Of one category of references, how many are pinned by content.")
class PinnedShare:
    category: str
    pinned: int
    total: int
    share: float | None


@strawberry.type(description="How hermetic a model's rebuild is (`lineage rebuild check`).")
class Hermeticity:
    model_id: strawberry.ID
    plan: str
    pinned: list[PinnedShare]
    gaps: list[HermeticityGap]
    hermetic: bool = strawberry.field(description="The plan has no gap.")
    last_rebuild: Rebuild | None
    last_rebuild_summary: str


async def _plan(c: RequestContext, model_id: str) -> Plan:
    await lookup.require_node(c, model_id)
    plan = await c.call(build_plan, c.service, c.shared.store, model_id)
    runs = [str(run["id"]) for run in plan.document.get("runs", [])]
    hidden = sorted(set(runs) - await c.visible(runs))
    if hidden:
        raise ForbiddenError(
            f"the plan of {model_id} reaches {len(hidden)} run(s) outside the token's namespaces"
        )
    return plan


def _gaps(document: dict[str, Any]) -> list[HermeticityGap]:
    return [
        HermeticityGap(kind=str(g["kind"]), subject=str(g["subject"]), reason=str(g["reason"]))
        for g in document.get("gaps", [])
    ]


async def rebuild_plan(c: RequestContext, model_id: str) -> RebuildPlan:
    plan = await _plan(c, model_id)
    return RebuildPlan(
        plan_id=plan.id,
        model_id=strawberry.ID(model_id),
        document=plan.document,
        gaps=_gaps(plan.document),
    )


async def rebuilds_of(c: RequestContext, model_id: str | None, first: int) -> list[Rebuild]:
    """Rebuilds of (or comparing) the model, or all, newest first, that the token sees."""
    c.limits.check_page(first)
    if model_id is not None:
        await lookup.require_node(c, model_id)
    found = await c.call(list_rebuilds, c.shared.store, model_id)
    shown = await c.visible([r.id for r in found])
    return [Rebuild.of(r) for r in found if r.id in shown][:first]


async def hermeticity(c: RequestContext, model_id: str) -> Hermeticity:
    plan = await _plan(c, model_id)
    document = plan.document
    # The last rebuild this token may see (rebuilds_of is newest first, scoped).
    mine = [r for r in await rebuilds_of(c, model_id, c.limits.max_page) if r.model_id == model_id]
    rebuild = mine[0] if mine else None
    summary = NEVER
    if rebuild is not None:
        summary = f"{Verdict(rebuild.verdict).value} in {rebuild.environment} ({rebuild.id})"
        if not rebuild.hermetic:
            summary += "; not hermetic"
    return Hermeticity(
        model_id=strawberry.ID(model_id),
        plan=plan.id,
        pinned=[
            PinnedShare(category=k, pinned=v["pinned"], total=v["total"], share=v["share"])
            for k, v in pinned_shares(document).items()
        ],
        gaps=_gaps(document),
        hermetic=not document.get("gaps"),
        last_rebuild=rebuild,
        last_rebuild_summary=summary,
    )


async def rebuild_by_id(c: RequestContext, node_id: str) -> Rebuild:
    """A rebuild by id; NOT_FOUND when unknown, of another kind, or hidden."""
    node = await lookup.require_node(c, node_id)
    if node.kind is not model.NodeKind.REBUILD:
        raise lookup.missing("rebuild", node_id)
    return Rebuild.of(await c.call(get_rebuild, c.shared.store, node_id))
