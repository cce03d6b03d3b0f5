"""Walking a KFP pipeline spec (the IR, as plain JSON-like data).

The IR nests: the root component holds a DAG of tasks, and a task whose
component is itself a DAG (a nested pipeline, a ParallelFor body, a condition
branch, an exit handler) holds tasks of its own. A task is named by its path
through that nesting, ``outer/inner/train``, the same path the lineage ids use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lineage.errors import BadInputError

# An OCI reference pinned by digest ends in ``@<algorithm>:<hex>``.
_DIGEST_SUFFIX = re.compile(r"@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
# Lightweight Python components write their embedded source to this file and run it.
_EPHEMERAL_MODULE = "ephemeral_component.py"


@dataclass(frozen=True, slots=True)
class IrTask:
    """One task of a DAG, wherever it is nested."""

    path: str  # "outer/train": the task keys from the root DAG down
    key: str  # the task's key in its DAG (KFP's task_name)
    parent: str | None  # path of the enclosing DAG task; None for tasks of the root DAG
    spec: Mapping[str, Any]  # the PipelineTaskSpec
    component: str  # componentRef.name
    component_spec: Mapping[str, Any]


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a mapping, or a BadInputError naming where it was expected."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadInputError(f"{where} is a {type(value).__name__}, expected a mapping")
    return value


def walk_tasks(spec: Mapping[str, Any], source: str = "pipeline spec") -> Iterator[IrTask]:
    """Every task of the spec, depth first, tasks of one DAG in key order."""
    components = mapping(spec.get("components"), f"{source}: components")
    root = mapping(spec.get("root"), f"{source}: root")
    yield from _walk_dag(root, components, prefix="", parent=None, seen=(), source=source)


def _walk_dag(
    component_spec: Mapping[str, Any],
    components: Mapping[str, Any],
    prefix: str,
    parent: str | None,
    seen: tuple[str, ...],
    source: str,
) -> Iterator[IrTask]:
    dag = mapping(component_spec.get("dag"), f"{source}: dag of {parent or 'root'}")
    tasks = mapping(dag.get("tasks"), f"{source}: tasks of {parent or 'root'}")
    for key in sorted(tasks):
        task = mapping(tasks[key], f"{source}: task {prefix}{key}")
        path = f"{prefix}{key}"
        ref = mapping(task.get("componentRef"), f"{source}: componentRef of task {path}")
        name = ref.get("name")
        if not isinstance(name, str) or name not in components:
            raise BadInputError(f"{source}: task {path} names component {name!r}, which is missing")
        if name in seen:
            raise BadInputError(f"{source}: component {name} contains itself (task {path})")
        component = mapping(components[name], f"{source}: component {name}")
        yield IrTask(path, key, parent, task, name, component)
        if "dag" in component:
            yield from _walk_dag(component, components, f"{path}/", path, (*seen, name), source)


def executor_label(component_spec: Mapping[str, Any]) -> str | None:
    label = component_spec.get("executorLabel")
    return label if isinstance(label, str) else None


def executors(spec: Mapping[str, Any], source: str = "pipeline spec") -> Mapping[str, Any]:
    deployment = mapping(spec.get("deploymentSpec"), f"{source}: deploymentSpec")
    return mapping(deployment.get("executors"), f"{source}: deploymentSpec.executors")


def executor_kind(executor: Mapping[str, Any]) -> str:
    """``container``, ``importer``, ``resolver``... the executor's one key (kept as it is)."""
    kinds = [key for key in ("container", "importer", "resolver", "customJob") if key in executor]
    if kinds:
        return kinds[0]
    # A newer SDK may add an executor kind we do not know: keep its name.
    return next(iter(sorted(executor)), "unknown")


def is_pinned(reference: str) -> bool:
    """Whether an image reference names its digest (``repo@sha256:...``)."""
    return bool(_DIGEST_SUFFIX.search(reference))


def lightweight_source(container: Mapping[str, Any]) -> str | None:
    """The embedded source of a lightweight Python component: the last element of ``command``.

    Containerized Python components and plain container components embed none.
    """
    command = container.get("command")
    if not isinstance(command, list) or len(command) < 2:
        return None
    if not any(isinstance(part, str) and _EPHEMERAL_MODULE in part for part in command[:-1]):
        return None
    last = command[-1]
    return last if isinstance(last, str) else None


def unsupported_by_local(task: IrTask) -> str | None:
    """The control-flow feature of this task that kfp.local cannot run, if any."""
    policy = mapping(task.spec.get("triggerPolicy"), f"task {task.path}: triggerPolicy")
    if policy.get("condition"):
        return "dsl.If / dsl.Condition"
    if "parameterIterator" in task.spec or "artifactIterator" in task.spec:
        return "dsl.ParallelFor"
    inputs = mapping(task.spec.get("inputs"), f"task {task.path}: inputs")
    for value in mapping(inputs.get("parameters"), f"task {task.path}: parameters").values():
        if isinstance(value, Mapping) and "taskFinalStatus" in value:
            return "dsl.PipelineTaskFinalStatus (an exit task)"
    return None
