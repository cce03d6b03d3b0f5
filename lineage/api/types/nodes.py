"""What every family of types shares: the LineageNode interface, the enums, small values.

Enum values are KFP's and MLMD's own words (``COMPLETE``, ``system.Model``...), so a
user who knows KFP recognises every name in the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from lineage import model
from lineage.query import types as q
from lineage.services.ranking import metric_values
from lineage.services.run_state import RunState

if TYPE_CHECKING:
    from lineage.api.context import RequestContext

    Json = Any  # strawberry's JSON scalar, as mypy should see it: any JSON value
else:
    Json = JSON

F = TypeVar("F", bound=Callable[..., Any])


def gql_field(
    *,
    description: str | None = None,
    name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """``strawberry.field`` with options, as a decorator mypy can type (strawberry types it Any)."""
    decorator: Callable[[F], F] = strawberry.field(
        description=description, name=name, metadata=metadata
    )
    return decorator


NodeKind = strawberry.enum(model.NodeKind, description="The kinds of lineage node.")
EdgeKind = strawberry.enum(
    model.EdgeKind,
    description="Lineage edges, in the direction data flows: INPUT artifact->task, "
    "OUTPUT task->artifact, USES_IMAGE image->task, SNAPSHOT_OF artifact->snapshot, "
    "REBUILT_FROM original->rebuilt (keyed by the rebuild).",
)
ExecutionState = strawberry.enum(
    model.ExecutionState, description="MLMD's Execution.State, as KFP records it."
)
ArtifactState = strawberry.enum(model.ArtifactState, description="MLMD's Artifact.State.")
Direction = strawberry.enum(model.Direction, description="Which way a lineage walk goes.")
DiffCategory = strawberry.enum(q.DiffCategory, description="What a diff entry is about.")
Change = strawberry.enum(q.Change, description="How a diff entry changed from `from` to `to`.")


# The service owns the states; the schema names them as KFP does.
strawberry.enum(RunState, description="KFP v2beta1 RuntimeState of a run.")


@strawberry.enum(description="Sort order.")
class Order(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.interface(description="Anything that is a node of the lineage graph.")
class LineageNode:
    id: strawberry.ID
    kind: NodeKind  # type: ignore[valid-type]
    name: str
    type: str = strawberry.field(description="The MLMD type name, e.g. system.Model.")


@strawberry.type(description="A named value: a task parameter.")
class Parameter:
    name: str
    value: Json | None


@strawberry.type(
    description="One scalar of a system.Metrics artifact (KFP keeps them as properties)."
)
class Metric:
    name: str
    value: float
    artifact_id: strawberry.ID


def ctx(info: strawberry.Info[RequestContext, None]) -> RequestContext:
    return info.context


def text(props: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def ms_to_datetime(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def datetime_to_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a time without a zone is read as UTC
    return int(value.timestamp() * 1000)


def metrics_of(artifact: model.Artifact | model.LineageNode) -> list[Metric]:
    """The numeric properties of a system.Metrics artifact, sorted by name."""
    return [
        Metric(name=key, value=value, artifact_id=strawberry.ID(artifact.id))
        for key, value in metric_values(artifact)
    ]


def parameters_of(props: Mapping[str, Any], key: str) -> list[Parameter]:
    """KFP keeps a task's input parameters in the ``inputs`` struct, outputs in ``outputs``."""
    raw = props.get(key)
    if not isinstance(raw, dict):
        return []
    return [Parameter(name=k, value=v) for k, v in sorted(raw.items())]
