"""Run-level facts of the KFP v2beta1 API, as properties of the run's context.

The run context is the one KFP's MLMD names after the run id (``system.PipelineRun``),
so the facts join the lineage the MLMD ingest recorded. They are merged into what the
store holds: MLMD's own keys (``namespace``, ``pipeline_root``...) are never dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from lineage.ingest.kfp_api.tasks import present_properties
from lineage.model import Context, KfpType, PropertyValue, canonical_json, run_id

# States after which a run no longer changes (a retry is the exception: see the report).
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"})


def version_reference(run: Mapping[str, Any]) -> tuple[str, str]:
    """(pipeline id, pipeline version id) of the version a run ran, '' when unknown."""
    ref = run.get("pipeline_version_reference") or run.get("pipeline_reference") or {}
    pipeline = str(ref.get("pipeline_id") or "")
    version = str(ref.get("pipeline_version_id") or run.get("pipeline_version_id") or "")
    return pipeline, version


def filter_created_since(moment: str) -> str:
    """A v2beta1 list filter (filter.proto as JSON): runs created at or after ``moment``."""
    predicate = {"key": "created_at", "operation": "GREATER_THAN_EQUALS", "timestamp_value": moment}
    return json.dumps({"predicates": [predicate]}, separators=(",", ":"))


def fingerprint(run: Mapping[str, Any]) -> str:
    """What changes as a run moves on: its state, end, error, history and tasks."""
    tasks = run.get("tasks") or (run.get("run_details") or {}).get("task_details") or []
    facts = {
        "state": run.get("state"),
        "finished_at": run.get("finished_at"),
        "storage_state": run.get("storage_state"),
        "error": run.get("error"),
        "history": len(run.get("state_history") or []),
        "tasks": sorted(
            (str(t.get("task_id")), str(t.get("state")), str(t.get("end_time"))) for t in tasks
        ),
    }
    return hashlib.sha256(canonical_json(facts)).hexdigest()[:16]


def run_properties(
    run: Mapping[str, Any],
    experiments: Mapping[str, Mapping[str, Any]],
    recurring: Mapping[str, Mapping[str, Any]],
) -> dict[str, PropertyValue]:
    """The facts the API holds about a run, under KFP's field names."""
    pipeline, version = version_reference(run)
    experiment = experiments.get(str(run.get("experiment_id") or ""), {})
    schedule = recurring.get(str(run.get("recurring_run_id") or ""), {})
    config = run.get("runtime_config") or {}
    history = run.get("state_history") or []
    facts: dict[str, Any] = {
        "display_name": run.get("display_name"),
        "description": run.get("description"),
        "state": run.get("state"),
        "storage_state": run.get("storage_state"),
        "created_at": run.get("created_at"),
        "scheduled_at": run.get("scheduled_at"),
        "finished_at": run.get("finished_at"),
        "service_account": run.get("service_account"),
        "experiment_id": run.get("experiment_id"),
        "experiment": experiment.get("display_name"),
        "pipeline_id": pipeline,
        "pipeline_version_id": version,
        "recurring_run_id": run.get("recurring_run_id"),
        "recurring_run": schedule.get("display_name"),
        "runtime_config": {
            "parameters": dict(config.get("parameters") or {}),
            "pipeline_root": str(config.get("pipeline_root") or ""),
        },
        "error": run.get("error"),
        "state_history": {"states": list(history)} if history else None,
    }
    return present_properties(facts)


def run_context(
    run: Mapping[str, Any],
    props: Mapping[str, PropertyValue],
    parents: tuple[str, ...],
    stored: Context | None,
    namespace: str | None,
) -> Context:
    """The run's context: what the store holds, with the API's facts laid over it."""
    name = str(run["run_id"])
    merged: dict[str, PropertyValue] = dict(stored.properties) if stored else {}
    merged.update(props)
    # MLMD's namespace is the truth when present; the API's fills a gap.
    space = str(run.get("namespace") or namespace or "")
    if space and "namespace" not in merged:
        merged["namespace"] = space
    links = tuple(dict.fromkeys([*(stored.parents if stored else ()), *parents]))
    return Context(run_id(name), KfpType.PIPELINE_RUN, name, merged, links)
