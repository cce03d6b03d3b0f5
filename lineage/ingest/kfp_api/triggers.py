"""KFP recurring runs (v2beta1 ``recurring_runs``) as nodes of their own.

A recurring run is the schedule that starts runs: its trigger (a cron expression, or an
interval in seconds, each with optional start and end times), its mode (``ENABLE`` /
``DISABLE``, what was asked) and status (``ENABLED`` / ``DISABLED``, what the server
did). It is recorded as a ``lineage.RecurringRun`` context named
``recurring-run:<recurring_run_id>``, and each run the API says it started
(``Run.recurring_run_id``) has it as a parent: the projection draws TRIGGERED_BY from the
run to it. A run that names a recurring run the server no longer lists still links to
one, recorded with what the run says (its id) and ``listed`` false, so the link is
never lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from lineage.ingest.kfp_api.tasks import present_properties
from lineage.model import Context, LineageType, PropertyValue, canonical_json, recurring_run_id


def schedule_kind(trigger: Mapping[str, Any]) -> str:
    """``cron``, ``interval``, or ``none`` (a recurring run with no trigger set)."""
    if trigger.get("cron_schedule"):
        return "cron"
    if trigger.get("periodic_schedule"):
        return "interval"
    return "none"


def _trigger(raw: Any) -> dict[str, PropertyValue]:
    trigger = raw if isinstance(raw, Mapping) else {}
    out: dict[str, PropertyValue] = {"schedule": schedule_kind(trigger)}
    cron = trigger.get("cron_schedule") or {}
    periodic = trigger.get("periodic_schedule") or {}
    for key, value in (
        ("cron", cron.get("cron")),
        # int64 arrives as a JSON string from grpc-gateway.
        ("interval_second", periodic.get("interval_second")),
        ("start_time", cron.get("start_time") or periodic.get("start_time")),
        ("end_time", cron.get("end_time") or periodic.get("end_time")),
    ):
        if value not in (None, ""):
            out[key] = str(value)
    return out


def recurring_run_context(recurring: Mapping[str, Any], namespace: str | None) -> Context:
    """The node of one recurring run, under KFP's field names."""
    rid = str(recurring["recurring_run_id"])
    ref = recurring.get("pipeline_version_reference") or {}
    facts: dict[str, Any] = {
        "recurring_run_id": rid,
        "listed": True,
        "display_name": recurring.get("display_name"),
        "description": recurring.get("description"),
        "namespace": recurring.get("namespace") or namespace,
        "trigger": _trigger(recurring.get("trigger")),
        "mode": recurring.get("mode"),
        "status": recurring.get("status"),
        "max_concurrency": recurring.get("max_concurrency"),
        "no_catchup": recurring.get("no_catchup"),
        "service_account": recurring.get("service_account"),
        "experiment_id": recurring.get("experiment_id"),
        "pipeline_id": ref.get("pipeline_id"),
        "pipeline_version_id": ref.get("pipeline_version_id"),
        "created_at": recurring.get("created_at"),
        "updated_at": recurring.get("updated_at"),
        "error": recurring.get("error"),
    }
    props = present_properties(facts)
    return Context(recurring_run_id(rid), LineageType.RECURRING_RUN, rid, props)


def unlisted_context(rid: str, namespace: str | None) -> Context:
    """A recurring run a run names but the server does not list (deleted since)."""
    props: dict[str, PropertyValue] = {"recurring_run_id": rid, "listed": False}
    if namespace:
        props["namespace"] = namespace
    return Context(recurring_run_id(rid), LineageType.RECURRING_RUN, rid, props)


def fingerprint(recurring: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(recurring))).hexdigest()[:16]
