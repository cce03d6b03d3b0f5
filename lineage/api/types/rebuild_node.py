"""A recorded rebuild as a GraphQL node, and the verdicts it carries.

Apart from the root fields (``lineage.api.types.rebuilds``) so that ``node(id:)``
(``lineage.api.types.lookup``) can build a Rebuild without importing the module that
looks nodes up.
"""

from __future__ import annotations

import strawberry

from lineage import model
from lineage.api.types.nodes import LineageNode
from lineage.rebuild.rebuilds import StoredRebuild
from lineage.rebuild.verdict import Verdict

RebuildVerdict = strawberry.enum(
    Verdict,
    name="RebuildVerdict",
    description="What a rebuild concluded: IDENTICAL only when every byte is equal.",
)


@strawberry.type(description="One output a rebuild compared: the original, its rebuilt copy.")
class RebuildOutput:
    task: str
    output: str
    original: strawberry.ID
    rebuilt: strawberry.ID | None
    expected_digest: str
    actual_digest: str | None
    verdict: RebuildVerdict  # type: ignore[valid-type]
    detail: str


@strawberry.type(
    description="A rebuild of a model version in another environment, with its verdict. "
    "It compared each original output with its rebuilt copy (REBUILT_FROM edges)."
)
class Rebuild(LineageNode):
    plan: str = strawberry.field(description="The plan's id.")
    model_id: strawberry.ID
    verdict: RebuildVerdict  # type: ignore[valid-type]
    hermetic: bool = strawberry.field(
        description="Identical, with no caveat and no gap: only then counted as hermetic."
    )
    environment: str
    runner: str
    run_id: strawberry.ID | None = strawberry.field(description="The rebuilt run.")
    outputs: list[RebuildOutput]
    caveats: list[str]
    gaps: list[str]
    first_divergent_task: str | None
    downstream_affected: list[str]
    started: str | None
    finished: str | None

    @classmethod
    def of(cls, stored: StoredRebuild) -> Rebuild:
        r = stored.result
        return cls(
            id=strawberry.ID(stored.id),
            kind=model.NodeKind.REBUILD,
            name=f"rebuild of {r.model} in {r.environment}",
            type=model.LineageType.REBUILD.value,
            plan=r.plan_id,
            model_id=strawberry.ID(r.model),
            verdict=r.verdict,
            hermetic=r.hermetic,
            environment=r.environment,
            runner=r.runner,
            run_id=strawberry.ID(r.run) if r.run else None,
            outputs=[
                RebuildOutput(
                    task=o.task,
                    output=o.output,
                    original=strawberry.ID(o.original),
                    rebuilt=strawberry.ID(o.rebuilt) if o.rebuilt else None,
                    expected_digest=o.expected_digest,
                    actual_digest=o.actual_digest,
                    verdict=o.verdict,
                    detail=o.detail,
                )
                for o in r.outputs
            ],
            caveats=list(r.caveats),
            gaps=list(r.gaps),
            first_divergent_task=r.first_divergent_task,
            downstream_affected=list(r.downstream_affected),
            started=r.started or None,
            finished=r.finished or None,
        )
