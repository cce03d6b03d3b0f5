"""The ranking of models by a metric: the best model of a sweep.

A sweep is many runs of one pipeline. Each run's system.Metrics artifacts name the
metric; the model a metrics artifact speaks of is found through the run's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineage import model
from lineage.model import Artifact, Context, EventType, KfpType, LineageNode

# Properties KFP, or the content digests, write on a metrics artifact that are not metrics.
NOT_METRICS = frozenset(
    {"display_name", "digest", "digest_kind", "digest_absent", "store_session_info"}
)


def numeric_metrics(properties: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The metrics among a metrics artifact's properties (what ``log_metric`` wrote),
    sorted by name: its numbers, less the properties that are not metrics."""
    return [
        (key, float(value))
        for key, value in sorted(properties.items())
        if key not in NOT_METRICS and isinstance(value, int | float) and not isinstance(value, bool)
    ]


def metric_values(artifact: model.Artifact | LineageNode) -> list[tuple[str, float]]:
    """The numeric properties of a system.Metrics artifact, sorted by name."""
    if artifact.type != KfpType.METRICS:
        return []
    return numeric_metrics(artifact.properties)


def model_for(record: model.RunRecord, metrics: model.Artifact) -> model.Artifact | None:
    """The model a metrics artifact speaks of: written by the same task, else read by the
    task that wrote the metrics (an evaluation step), else the run's only model."""
    models = {a.id: a for a in record.artifacts if a.type == KfpType.MODEL}
    writers = {
        e.execution
        for e in record.events
        if e.artifact == metrics.id and e.type is EventType.OUTPUT
    }
    for wanted in (EventType.OUTPUT, EventType.INPUT):
        linked = sorted(
            e.artifact
            for e in record.events
            if e.execution in writers and e.type is wanted and e.artifact in models
        )
        if linked:
            return models[linked[0]]
    return next(iter(models.values())) if len(models) == 1 else None


@dataclass(frozen=True, slots=True)
class Ranked:
    """One model with the value of the metric it is ranked by."""

    value: float
    metrics: Artifact  # the artifact the value was read from
    model: Artifact
    run: Context


def rank_models(
    runs: Iterable[tuple[model.Context, model.RunRecord | None]], metric: str, descending: bool
) -> list[Ranked]:
    """Every model of these runs that has ``metric``, best first (ties by model id)."""
    ranked: list[Ranked] = []
    for run, record in runs:
        if record is None:
            continue
        for artifact in sorted(record.artifacts, key=lambda a: a.id):
            for name, value in metric_values(artifact):
                chosen = model_for(record, artifact) if name == metric else None
                if chosen is not None:
                    ranked.append(Ranked(value, artifact, chosen, run))
    ranked.sort(key=lambda r: (-r.value if descending else r.value, r.model.id))
    return ranked
