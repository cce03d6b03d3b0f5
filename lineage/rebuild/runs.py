"""One run's part of a plan: the spec it ran and its digest, its parameters, the runner
and environment it ran in, and its tasks in topological order.

Runners: a run's ``runner`` property when its source recorded one (``lineage run``
records ``kfp.local.SubprocessRunner``). A run without one was recorded from a KFP
cluster (``ingest mlmd``, ``ingest kfp``), whose pods each run their task's image:
``kfp``; a run recorded from TFX's store (``source_type`` kept) by an orchestrator
the store does not name: ``tfx``.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from typing import Any

from lineage.errors import BadInputError
from lineage.model import (
    Context,
    EventType,
    Execution,
    KfpType,
    LineageType,
    canonical_json,
    sha256_hex,
    task_id,
)
from lineage.rebuild.spec_facts import SpecTask, spec_tasks
from lineage.rebuild.tasks import task_entry
from lineage.rebuild.upstream import RunFacts

# Runners that run each task in the image its spec names.
ENFORCE_IMAGES = frozenset({"kfp"})


def runner_of(run: Context) -> str:
    value = run.properties.get("runner")
    if isinstance(value, str) and value:
        return value
    return "tfx" if "source_type" in run.properties else "kfp"


def run_entry(facts: RunFacts) -> dict[str, Any]:
    run = facts.record.contexts[0]
    spec, platform, version = _spec_of(facts)
    spec_info = spec_tasks(spec, platform, f"{version} (run {run.id})") if spec else {}
    root, tasks = _split_root(facts, run)
    ordered = topological(tasks, spec_info, facts)
    pipelines = [c.name for c in facts.record.contexts[1:] if c.type == KfpType.PIPELINE]
    return {
        "id": run.id,
        "name": run.name,
        "pipeline": pipelines[0] if pipelines else None,
        "runner": runner_of(run),
        "environment": {
            key: run.properties[key]
            for key in ("namespace", "pipeline_root")
            if isinstance(run.properties.get(key), str)
        },
        "pipeline_spec": _spec_entry(version, spec, platform) if spec else None,
        "parameters": _parameters(root),
        "tasks": [
            task_entry(t, path, facts, spec_info.get(_spec_path(path))) for path, t in ordered
        ],
    }


def _spec_of(facts: RunFacts) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """The pipeline spec (and platform spec) of the version the run ran, if stored."""
    for version in facts.record.contexts[1:]:
        if version.type != LineageType.PIPELINE_VERSION:
            continue
        text = version.properties.get("pipeline_spec")
        if not isinstance(text, str):
            return None, None, version.id
        try:
            spec = json.loads(text)
            platform_text = version.properties.get("platform_spec")
            platform = json.loads(platform_text) if isinstance(platform_text, str) else None
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{version.id}: its stored spec is not JSON: {exc}") from exc
        return spec, platform, version.id
    return None, None, None


def _spec_entry(
    version: str | None, spec: Mapping[str, Any], platform: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "version": version,
        "digest": f"sha256:{sha256_hex(canonical_json(spec))}",
        "spec": spec,
        "platform_spec": platform,
    }


def _parameters(root: Execution | None) -> dict[str, Any]:
    value = root.properties.get("inputs") if root is not None else None
    return dict(value) if isinstance(value, dict) else {}


def _is_root(task: Execution) -> bool:
    props = task.properties
    return (
        task.type == KfpType.DAG_EXECUTION
        and "parent_task" not in props
        and "parent_dag_id" not in props
    )


def _split_root(facts: RunFacts, run: Context) -> tuple[Execution | None, dict[str, Execution]]:
    """The root DAG (its inputs are the run's parameters) and the other tasks by path.

    A task's path is its id after ``task:<run id>/`` (the store's identity rule for tasks),
    or its ``task_name`` for a source that named it otherwise."""
    root: Execution | None = None
    tasks: dict[str, Execution] = {}
    prefix = task_id(run.id.removeprefix("run:"), "")
    for task in facts.tasks:
        if root is None and _is_root(task):
            root = task
            continue
        name = task.properties.get("task_name")
        path = task.id[len(prefix) :] if task.id.startswith(prefix) else str(name or task.id)
        tasks[path] = task
    return root, tasks


def _spec_path(path: str) -> str:
    """The spec's path of a task whose recorded path carries loop iterations (``train[2]``)."""
    return "/".join(part.split("[", 1)[0] for part in path.split("/"))


def topological(
    tasks: Mapping[str, Execution], spec_info: Mapping[str, SpecTask], facts: RunFacts
) -> list[tuple[str, Execution]]:
    """Tasks in an order where each comes after what it waits for: the tasks its spec
    names as dependencies, the tasks whose outputs it reads, and its enclosing DAG.
    Ties are broken by path, so the order is the same every time."""
    by_id = {t.id: path for path, t in tasks.items()}
    needs: dict[str, set[str]] = {path: set() for path in tasks}
    writers = {
        e.artifact: by_id[e.execution]
        for e in facts.data_events()
        if e.type == EventType.OUTPUT and e.execution in by_id
    }
    for event in facts.data_events():
        reader = by_id.get(event.execution)
        writer = writers.get(event.artifact)
        if event.type == EventType.INPUT and reader and writer and writer != reader:
            needs[reader].add(writer)
    for path, task in tasks.items():
        parent = task.properties.get("parent_task")
        if isinstance(parent, str) and parent in by_id:
            needs[path].add(by_id[parent])
        info = spec_info.get(_spec_path(path))
        if info is not None:
            needs[path].update(p for p in info.after if p in needs)
    return [(path, tasks[path]) for path in _kahn(needs)]


def _kahn(needs: Mapping[str, set[str]]) -> list[str]:
    waiting = {path: len(deps) for path, deps in needs.items()}
    freed: dict[str, list[str]] = {path: [] for path in needs}
    for path, deps in needs.items():
        for dep in deps:
            freed[dep].append(path)
    ready = [path for path, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        path = heapq.heappop(ready)
        done.append(path)
        for other in freed[path]:
            waiting[other] -= 1
            if waiting[other] == 0:
                heapq.heappush(ready, other)
    if len(done) < len(needs):
        stuck = sorted(set(needs) - set(done))
        raise BadInputError(f"tasks {', '.join(stuck)} wait for each other in a cycle")
    return done
