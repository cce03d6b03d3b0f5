"""KFP recurring runs: the schedules that start runs (``lineage.RecurringRun`` contexts)."""

from __future__ import annotations

import strawberry

from lineage import model
from lineage.api.types.nodes import Json, LineageNode, text


@strawberry.type(description="When a recurring run starts runs: KFP's Trigger.")
class Trigger:
    schedule: str = strawberry.field(
        description="cron, interval, or none (KFP's cron_schedule or periodic_schedule)."
    )
    cron: str | None = strawberry.field(description="The cron expression (with seconds).")
    interval_seconds: int | None = strawberry.field(
        description="The interval of a periodic schedule (KFP's interval_second)."
    )
    start_time: str | None
    end_time: str | None


@strawberry.type(
    description="A KFP recurring run: a schedule that starts runs. Its runs point at it "
    "with TRIGGERED_BY edges."
)
class RecurringRun(LineageNode):
    namespace: str | None
    mode: str | None = strawberry.field(description="What was asked: ENABLE or DISABLE.")
    status: str | None = strawberry.field(
        description="What the server did: ENABLED or DISABLED; null when the server no "
        "longer lists it (only the id, from a run it started, is known)."
    )
    trigger: Trigger | None
    properties: Json

    @classmethod
    def of(cls, c: model.Context) -> RecurringRun:
        raw = c.properties.get("trigger")
        trigger = None
        if isinstance(raw, dict):
            interval = str(raw.get("interval_second") or "")
            trigger = Trigger(
                schedule=str(raw.get("schedule") or "none"),
                cron=text(raw, "cron"),
                interval_seconds=int(interval) if interval.isdigit() else None,
                start_time=text(raw, "start_time"),
                end_time=text(raw, "end_time"),
            )
        return cls(
            id=strawberry.ID(c.id),
            kind=model.NodeKind.RECURRING_RUN,
            name=text(c.properties, "display_name") or c.name,
            type=c.type,
            namespace=text(c.properties, "namespace"),
            mode=text(c.properties, "mode"),
            status=text(c.properties, "status"),
            trigger=trigger,
            properties=dict(c.properties),
        )
