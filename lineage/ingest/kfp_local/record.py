"""A local run as the KFP v2 backend records a run in MLMD.

The names follow KFP's ``backend/src/v2/metadata`` client and driver:

- contexts ``system.Pipeline`` (named after ``pipelineInfo.name``), parent of
  ``system.PipelineRun`` (named after the run id), with ``namespace``,
  ``resource_name`` and ``pipeline_root``;
- a ``system.DAGExecution`` named ``run/<run id>`` for the root DAG, one per
  nested DAG, a ``system.ContainerExecution`` per container task and a
  ``system.ImporterExecution`` per importer, carrying ``display_name``,
  ``task_name``, ``parent_dag_id``, ``inputs``/``outputs`` parameter structs,
  and for containers ``image``, ``namespace`` and ``pod_name``;
- artifacts typed by their schema title, ``display_name`` = the output key
  (importers set none, as KFP's importer does not), the metadata the component
  wrote converted as KFP's launcher converts it;
- ``INPUT``/``OUTPUT`` events with the one-step path ``{key: name}``.

What KFP cannot know and we add: ``parent_task`` (the parent DAG's stable id,
since ``parent_dag_id`` is an MLMD row id), ``error`` on a failed task, and
the content ``digest`` of each artifact (or ``digest_absent`` saying why not).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from lineage import model
from lineage.images.lineage import image_node
from lineage.images.reference import parse_reference
from lineage.ingest import spec as spec_module
from lineage.ingest.kfp_local.facts import LocalRun, ObservedArtifact, ObservedTask
from lineage.model import Artifact, Context, Event, EventType, Execution, KfpType, RunRecord

# Where a local run ran, in place of a Kubernetes namespace.
LOCAL_NAMESPACE = "local"
RUNNER = "kfp.local.SubprocessRunner"

_EXECUTION_TYPES = {
    "root": KfpType.DAG_EXECUTION,
    "dag": KfpType.DAG_EXECUTION,
    "container": KfpType.CONTAINER_EXECUTION,
    "importer": KfpType.IMPORTER_EXECUTION,
}


def kfp_metadata_value(value: Any) -> model.PropertyValue | None:
    """An artifact metadata value as KFP's launcher stores it (``StructValueToMLMDValue``).

    Numbers become doubles, booleans ints, lists and objects are wrapped in a
    struct under ``list`` / ``struct``; nulls are not stored.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return {"list": value}
    if isinstance(value, dict):
        return {"struct": value}
    return str(value)


def run_context(run: LocalRun) -> Context:
    return Context(
        id=model.run_id(run.run_id),
        type=KfpType.PIPELINE_RUN,
        name=run.run_id,
        properties={
            "namespace": LOCAL_NAMESPACE,
            "resource_name": run.run_id,
            "pipeline_root": run.run_root,
            "runner": run.runner,
            "pipeline_job_id": run.job_id,
        },
        # The run belongs to its pipeline (as in KFP) and ran this pipeline version.
        parents=(model.pipeline_id(run.pipeline), run.spec_id),
    )


def execution_of(run: LocalRun, task: ObservedTask, rows: Mapping[str, int]) -> Execution:
    ex_id = model.task_id(run.run_id, task.path)
    props: dict[str, model.PropertyValue] = {
        "display_name": task.display_name,
        "task_name": task.key,
    }
    if task.parent is not None:
        parent = model.task_id(run.run_id, task.parent)
        props["parent_task"] = parent
        if parent in rows:
            props["parent_dag_id"] = rows[parent]
    if task.kind != "importer":  # KFP's importer records no parameter inputs
        props["inputs"] = dict(task.inputs)
    if task.kind == "container":
        if task.state == model.ExecutionState.COMPLETE:
            props["outputs"] = dict(task.outputs)
        props["image"] = task.image or ""
        props["namespace"] = LOCAL_NAMESPACE
        # A local task runs as a process, not a pod: the host and the task stand for it.
        props["pod_name"] = f"{run.host or socket.gethostname()}/{run.run_id}/{task.path}"
        for key, value in task.runner_properties.items():  # the sandbox's runner and options
            props.setdefault(key, value)
    if task.total_tasks is not None:
        props["total_dag_tasks"] = task.total_tasks
    if task.error:
        props["error"] = task.error
    return Execution(
        id=ex_id,
        type=_EXECUTION_TYPES[task.kind],
        name=f"run/{run.run_id}" if task.kind == "root" else None,
        state=task.state,
        properties=props,
    )


def artifact_of(record_id: str, art: ObservedArtifact, imported: bool) -> Artifact:
    props: dict[str, model.PropertyValue] = {}
    for key, value in art.metadata.items():
        converted = kfp_metadata_value(value)
        if converted is not None:
            props[key] = converted
    if not imported:
        props.setdefault("display_name", art.key)  # a display_name the component set wins
    # What was measured overrides anything a component claimed under these names.
    for key in ("digest", "digest_kind", "digest_absent"):
        props.pop(key, None)
    if art.digest:
        props["digest"] = art.digest
        props["digest_kind"] = art.digest_kind or "file"
    else:
        props["digest_absent"] = art.digest_absent or "unknown"
    return Artifact(id=record_id, type=art.type, uri=art.uri, properties=props)


def run_record(
    run: LocalRun,
    rows: Mapping[str, int] | None = None,
    stored: Mapping[str, Artifact] | None = None,
) -> RunRecord:
    """The run's record. ``rows``: MLMD row ids of its DAG executions, once known.

    ``stored``: artifacts already in the store by id. An importer that does not
    reimport reuses a stored artifact of the same type as it is (KFP's importer
    matches by URI); a stored artifact of another type makes it a new artifact.
    """
    rows = rows or {}
    stored = stored or {}
    importer_outputs = {
        uid for t in run.tasks if t.kind == "importer" for _, uid in t.output_artifacts
    }
    produced = {uid for t in run.tasks if t.kind != "importer" for _, uid in t.output_artifacts}
    ids: dict[str, str] = {}
    artifacts: list[Artifact] = []
    for uid, art in run.artifacts.items():
        imported = uid in importer_outputs and uid not in produced
        old = stored.get(uid)
        if imported and not art.reimport and old is not None:
            if old.type == art.type:
                ids[uid] = uid
                artifacts.append(old)
                continue
            uid_for_type = model.artifact_id(art.uri, f"{run.run_id}/{art.type}")
            ids[uid] = uid_for_type
            artifacts.append(artifact_of(uid_for_type, art, imported))
            continue
        ids[uid] = uid
        artifacts.append(artifact_of(uid, art, imported))
    executions = [execution_of(run, task, rows) for task in run.tasks]
    events: list[Event] = []
    images: dict[str, Artifact] = {}
    for task in run.tasks:
        ex_id = model.task_id(run.run_id, task.path)
        if task.ran_image:  # the digest that actually ran, as the sandbox pulled it
            image = _ran_image_node(task.ran_image)
            images[image.id] = image
            path = (model.IMAGE_EVENT_KEY, model.ImageSource.SANDBOX.value, task.ran_image)
            events.append(Event(ex_id, image.id, EventType.INPUT, path))
        events.extend(Event(ex_id, ids[u], EventType.INPUT, (k,)) for k, u in task.input_artifacts)
        events.extend(
            Event(ex_id, ids[u], EventType.OUTPUT, (k,)) for k, u in task.output_artifacts
        )
    return RunRecord(
        contexts=(spec_module.pipeline_context(run.pipeline), run_context(run)),
        executions=tuple(executions),
        artifacts=(*artifacts, *images.values()),
        events=tuple(dict.fromkeys(events)),
    )


def _ran_image_node(reference: str) -> Artifact:
    ref = parse_reference(reference)
    assert ref.digest, "a runner records the digest it pulled"
    return image_node(ref, ref.digest)


def summarize(run: LocalRun, record: RunRecord) -> dict[str, Any]:
    """``lineage run --json``: the run, its tasks and the artifacts each wrote."""
    artifacts = {a.id: a for a in record.artifacts}
    outputs: dict[str, dict[str, Any]] = {}
    for event in record.events:
        if event.type != EventType.OUTPUT or event.key is None:
            continue
        art = artifacts[event.artifact]
        outputs.setdefault(event.execution, {})[event.key] = {
            "id": art.id,
            "type": art.type,
            "uri": art.uri,
            "digest": art.properties.get("digest"),
        }
    tasks = [
        {
            "name": task.path,
            "state": task.state.value,
            "outputs": outputs.get(model.task_id(run.run_id, task.path), {}),
            **({"error": task.error} if task.error else {}),
        }
        for task in run.tasks
        if task.kind != "root"
    ]
    summary: dict[str, Any] = {
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "state": run.state.value,
        "tasks": tasks,
    }
    if run.error:
        summary["error"] = run.error
    return summary
