"""Native tasks and artifacts of KFP releases without MLMD, as KFP's MLMD would hold them.

Those releases answer ``Run.tasks``: each task with its type (ROOT, RUNTIME, DAG, LOOP,
CONDITION...), ``parent_task_id``, ``type_attributes.iteration_index``, its pods, and its
inputs/outputs with the artifacts themselves. We record them with the names the MLMD
ingest uses, so a run reads the same whichever way it arrived:

- ROOT is the root ``system.DAGExecution`` named ``run/<run id>`` (task path ``""``);
- every grouping task (DAG, LOOP, LOOP_ITERATION, CONDITION...) is a
  ``system.DAGExecution``; a RUNTIME task is a ``system.ImporterExecution`` when the
  pipeline spec runs an importer there, else a ``system.ContainerExecution`` carrying,
  as KFP's launcher writes them, the spec's ``image`` and the run's ``namespace``;
- the task path follows ``parent_task_id``; only a loop iteration adds
  ``[iteration_index]`` (KFP's MLMD keeps the index on the iteration's DAG execution, and
  the tasks inside an iteration are told apart by it, not by an index of their own);
- an artifact is named by its URI (one without a URI by the server's artifact id);
- input and output artifacts become INPUT and OUTPUT events keyed by ``artifact_key``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lineage.errors import BadInputError
from lineage.model import (
    Artifact,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    PropertyValue,
    artifact_id,
    run_id,
    task_id,
)

_DAG_TYPES = frozenset(
    {"ROOT", "DAG", "LOOP", "LOOP_ITERATION", "CONDITION", "CONDITION_BRANCH", "EXIT_HANDLER"}
)
_STATES = {
    "SUCCEEDED": ExecutionState.COMPLETE,
    "FAILED": ExecutionState.FAILED,
    "CACHED": ExecutionState.CACHED,
    "SKIPPED": ExecutionState.CANCELED,  # not triggered, as KFP's MLMD records it
    "CANCELED": ExecutionState.CANCELED,
    "RUNNING": ExecutionState.RUNNING,
    "CANCELING": ExecutionState.RUNNING,
    "PENDING": ExecutionState.NEW,
}
_ARTIFACT_TYPES = {
    "Artifact": KfpType.ARTIFACT,
    "Model": KfpType.MODEL,
    "Dataset": KfpType.DATASET,
    "HTML": KfpType.HTML,
    "Markdown": KfpType.MARKDOWN,
    "Metric": KfpType.METRICS,
    "ClassificationMetric": KfpType.CLASSIFICATION_METRICS,
    "SlicedClassificationMetric": KfpType.SLICED_CLASSIFICATION_METRICS,
}


def as_property(value: Any) -> PropertyValue | None:
    """A JSON value as an MLMD property; lists live inside a struct, as KFP keeps them."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {"values": value}
    return str(value)


def present_properties(facts: Mapping[str, Any]) -> dict[str, PropertyValue]:
    """The facts an API object sets, as MLMD properties: empty values are left out (the
    API sends absent fields as "", {} or [])."""
    props: dict[str, PropertyValue] = {}
    for key, value in facts.items():
        if value in (None, "", {}, []):
            continue
        converted = as_property(value)
        if converted is not None:
            props[key] = converted
    return props


def _int(value: Any) -> int | None:
    # int64 fields arrive as JSON strings from grpc-gateway.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _name(task: Mapping[str, Any]) -> str:
    return str(task.get("name") or task.get("display_name") or task.get("task_id") or "task")


def _kind(task: Mapping[str, Any]) -> str:
    return str(task.get("type") or "RUNTIME")


def _iteration(task: Mapping[str, Any]) -> int | None:
    """The index of a loop iteration; None for any other task. Some servers repeat the
    index on the tasks inside an iteration: those are not iterations themselves."""
    if _kind(task) not in _DAG_TYPES:
        return None
    return _int((task.get("type_attributes") or {}).get("iteration_index"))


def _segment(task: Mapping[str, Any]) -> str:
    index = _iteration(task)
    return f"{_name(task)}[{index}]" if index is not None else _name(task)


def _paths(run: str, tasks: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Task path by server task id, parents first; duplicates get ``#<task id>``."""
    by_id = {str(t.get("task_id")): t for t in tasks}
    paths: dict[str, str] = {}
    taken: set[str] = set()

    def path_of(tid: str, seen: tuple[str, ...] = ()) -> str:
        if tid in paths:
            return paths[tid]
        task = by_id[tid]
        parent = str(task.get("parent_task_id") or "")
        if not parent:
            prefix = None
        elif parent not in by_id:
            raise BadInputError(
                f"{run_id(run)}: task {tid} ({_name(task)}) names parent_task_id {parent}, "
                "which is not a task of this run"
            )
        elif parent in seen:
            raise BadInputError(f"{run_id(run)}: the parent_task_id chain of task {tid} loops")
        else:
            prefix = path_of(parent, (*seen, tid))
        if prefix is None and task.get("type") == "ROOT" and "" not in taken:
            path = ""
        else:
            path = f"{prefix}/{_segment(task)}" if prefix else _segment(task)
            if path in taken:
                path = f"{path}#{tid}"
        taken.add(path)
        paths[tid] = path
        return path

    for tid in sorted(by_id, key=lambda t: (str(by_id[t].get("create_time") or ""), t)):
        path_of(tid)
    return paths


def _params(io: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in (io or {}).get("parameters") or []:
        key = param.get("parameter_key")
        if key:
            out[str(key)] = param.get("value")
    return out


def _artifact(art: Mapping[str, Any], art_id: str) -> Artifact:
    name = str(art.get("name") or "")
    props: dict[str, PropertyValue] = {"kfp_artifact_id": str(art.get("artifact_id") or "")}
    if name:
        props["display_name"] = name
    for key, value in (art.get("metadata") or {}).items():
        converted = as_property(value)
        if converted is not None:
            props[str(key)] = converted
    if isinstance(art.get("number_value"), int | float) and name:
        props[name] = float(art["number_value"])  # a metric: its name is the key
    if art.get("description"):
        props["description"] = str(art["description"])
    kind = _ARTIFACT_TYPES.get(str(art.get("type") or ""), KfpType.ARTIFACT)
    return Artifact(art_id, kind, str(art.get("uri") or ""), None, properties=props)


def spec_tasks(tasks_property: PropertyValue | None) -> dict[str, Mapping[str, Any]]:
    """The tasks of a pipeline version by spec path, from its ``tasks`` property."""
    listed = tasks_property.get("tasks") if isinstance(tasks_property, dict) else None
    return {
        str(t["path"]): t
        for t in (listed if isinstance(listed, list) else [])
        if isinstance(t, dict) and t.get("path")
    }


def _spec_paths(tasks: Sequence[Mapping[str, Any]], paths: Mapping[str, str]) -> dict[str, str]:
    """Each task's path in the pipeline spec: the task names from the root down, without
    the root and without the iterations (an iteration repeats its loop's name)."""
    by_id = {str(t.get("task_id")): t for t in tasks}
    out: dict[str, str] = {}

    def spec_path(tid: str) -> str:
        if tid not in out:
            task = by_id[tid]
            parent = str(task.get("parent_task_id") or "")
            prefix = spec_path(parent) if parent else ""
            if paths[tid] == "" or _iteration(task) is not None:
                out[tid] = prefix
            else:
                out[tid] = f"{prefix}/{_name(task)}" if prefix else _name(task)
        return out[tid]

    for tid in by_id:
        spec_path(tid)  # _paths has checked that every parent chain ends
    return out


def _spec_task(
    spec: Mapping[str, Mapping[str, Any]], path: str, name: str
) -> Mapping[str, Any] | None:
    """The spec's task at ``path``; else the one task of that name, if only one has it
    (a server may nest tasks under groups the compiled spec names differently)."""
    if path in spec:
        return spec[path]
    same = [t for p, t in spec.items() if p.rsplit("/", 1)[-1] == name]
    return same[0] if len(same) == 1 else None


def task_nodes(
    run: str,
    tasks: Sequence[Mapping[str, Any]],
    spec: Mapping[str, Mapping[str, Any]] | None = None,
    namespace: str | None = None,
) -> tuple[list[Execution], list[Artifact], list[Event]]:
    """Executions, artifacts and events of one run's native tasks. ``spec`` holds the
    tasks of the run's pipeline version by spec path (see ``spec_tasks``): it tells an
    importer from a container, and the image each container ran."""
    paths = _paths(run, tasks)
    in_spec = _spec_paths(tasks, paths)
    ids = {tid: task_id(run, path) for tid, path in paths.items()}
    executions: list[Execution] = []
    artifacts: dict[str, Artifact] = {}  # by server artifact id
    by_uri: dict[str, str] = {}
    events: dict[tuple[str, str, EventType], Event] = {}
    for task in tasks:
        tid = str(task.get("task_id"))
        declared = _spec_task(spec or {}, in_spec[tid], _name(task))
        root = f"run/{run}" if paths[tid] == "" else None
        executions.append(_execution(task, declared, ids, root, namespace))
        _task_events(task, ids[tid], artifacts, by_uri, events)
    return executions, list(artifacts.values()), list(events.values())


def _execution(
    task: Mapping[str, Any],
    declared: Mapping[str, Any] | None,
    ids: Mapping[str, str],
    root: str | None,
    namespace: str | None,
) -> Execution:
    """One native task as KFP's MLMD execution (``root``: the root DAG's name)."""
    tid = str(task.get("task_id"))
    kind = _kind(task)
    attrs = task.get("type_attributes") or {}
    if kind in _DAG_TYPES:
        node_type = KfpType.DAG_EXECUTION
    elif declared is not None and declared.get("kind") == "importer":
        node_type = KfpType.IMPORTER_EXECUTION
    else:
        node_type = KfpType.CONTAINER_EXECUTION
    props: dict[str, PropertyValue] = {
        "display_name": str(task.get("display_name") or _name(task)),
        "task_name": "" if kind == "ROOT" else _name(task),
        "kfp_task_id": tid,
        "inputs": _params(task.get("inputs")),
        "outputs": _params(task.get("outputs")),
    }
    parent = str(task.get("parent_task_id") or "")
    if parent:
        props["parent_task"] = ids[parent]
    index, count = _iteration(task), _int(attrs.get("iteration_count"))
    if index is not None:
        props["iteration_index"] = index
    if count is not None and kind in _DAG_TYPES:
        props["iteration_count"] = count
    if node_type == KfpType.CONTAINER_EXECUTION:
        image = declared.get("image") if declared is not None else None
        if isinstance(image, str) and image:
            props["image"] = image
        space = str(task.get("namespace") or namespace or "")
        if space:
            props["namespace"] = space
    pods = task.get("pods") or []
    pod = next((p for p in pods if p.get("type") == "EXECUTOR"), pods[0] if pods else None)
    if pod:
        props["pod_name"] = str(pod.get("name") or "")
        props["pod_uid"] = str(pod.get("uid") or "")
    for key in ("cache_fingerprint", "create_time", "end_time", "scope_path"):
        if task.get(key):
            props[key] = str(task[key])
    if task.get("error"):
        props["error"] = dict(task["error"])
    state = _STATES.get(str(task.get("state") or ""), ExecutionState.UNKNOWN)
    return Execution(ids[tid], node_type, root, state, props)


def _task_events(
    task: Mapping[str, Any],
    execution: str,
    artifacts: dict[str, Artifact],
    by_uri: dict[str, str],
    events: dict[tuple[str, str, EventType], Event],
) -> None:
    """The task's input and output events, adding the artifacts they name (one node per
    server artifact; a URI two server artifacts share keeps the first one's plain id)."""
    for side, event_type in (("inputs", EventType.INPUT), ("outputs", EventType.OUTPUT)):
        for io in (task.get(side) or {}).get("artifacts") or []:
            key = str(io.get("artifact_key") or "")
            for art in io.get("artifacts") or []:
                server_id = str(art.get("artifact_id") or "")
                uri = str(art.get("uri") or "")
                if server_id not in artifacts:
                    if not uri:
                        node_id = f"artifact:kfp/{server_id}"
                    elif by_uri.setdefault(uri, server_id) == server_id:
                        node_id = artifact_id(uri)
                    else:
                        node_id = artifact_id(uri, server_id)
                    artifacts[server_id] = _artifact(art, node_id)
                ev = Event(execution, artifacts[server_id].id, event_type, (key,) if key else ())
                events.setdefault((ev.execution, ev.artifact, event_type), ev)
