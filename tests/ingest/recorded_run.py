"""One recorded KFP run, rendered two ways: as KFP's MLMD writes it, and as KFP's v2beta1
API answers it (a compiled pipeline spec, and the run with its native ``tasks``).

A run is a tree of steps: containers, importers, nested pipelines (DAG), conditions
(taken or not) and ParallelFor loops. ``recorded_runs`` draws random ones with
hypothesis. The MLMD side is written with ``KfpStore`` (KFP's conventions, see
tests/ingest/kfp_store.py); the API side follows KFP's run.proto: ROOT, RUNTIME, DAG,
CONDITION, LOOP and LOOP_ITERATION tasks linked by ``parent_task_id``, a loop's count and
an iteration's index in ``type_attributes`` (int64, so JSON strings). The artifacts'
URIs are the ones the MLMD side wrote, so both sides name the same data.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.ingest.kfp_store import KfpStore, Task
from tests.services.kfp_api_replay import API, ReplayServer

PIPELINE_ID = "5e5e5e5e-pipe-4000-8000-000000000001"
VERSION_ID = "6f6f6f6f-vers-4000-8000-000000000001"
IMAGES = ("python:3.11", "ghcr.io/acme/train:v1", "ghcr.io/acme/eval@sha256:" + "ab" * 32)


@dataclass
class Step:
    name: str
    kind: str  # container | importer | dag | condition | loop
    children: list[Step] = field(default_factory=list)
    iterations: int = 0
    taken: bool = True
    image: str = ""
    reads: list[str] = field(default_factory=list)  # top-level producers it reads


@dataclass
class RecordedRun:
    run_id: str
    pipeline: str
    namespace: str
    steps: list[Step]
    iteration_type: str  # LOOP_ITERATION (run.proto), or LOOP as some servers answer
    index_inside: bool  # the server repeats the iteration index on the tasks inside


@st.composite
def recorded_runs(draw: st.DrawFn) -> RecordedRun:
    counter = itertools.count(1)

    def scope(depth: int, available: list[str], top: bool) -> list[Step]:
        steps: list[Step] = []
        kinds = ["container", "importer", "dag", "condition", "loop"] if depth < 2 else None
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(kinds or ["container", "importer"]))
            n = next(counter)
            if kind == "container":
                reads = (
                    draw(st.lists(st.sampled_from(available), unique=True, max_size=2))
                    if available
                    else []
                )
                step = Step(f"train-{n}", kind, image=draw(st.sampled_from(IMAGES)), reads=reads)
            elif kind == "importer":
                step = Step(f"importer-{n}", kind)
            else:
                prefix = {"dag": "pipeline", "condition": "condition", "loop": "for-loop"}[kind]
                step = Step(f"{prefix}-{n}", kind, scope(depth + 1, list(available), False))
                step.iterations = draw(st.integers(1, 3)) if kind == "loop" else 0
                step.taken = draw(st.booleans()) if kind == "condition" else True
            if top and kind in ("container", "importer"):
                available.append(step.name)
            steps.append(step)
        return steps

    return RecordedRun(
        run_id=f"7a7a7a7a-0000-4000-8000-{draw(st.integers(0, 10**12 - 1)):012d}",
        pipeline="generated-pipeline",
        namespace=draw(st.sampled_from(["kubeflow", "team-a"])),
        steps=scope(0, [], True),
        iteration_type=draw(st.sampled_from(["LOOP_ITERATION", "LOOP"])),
        index_inside=draw(st.booleans()),
    )


def _importer_uri(step: Step) -> str:
    return f"gs://datasets/{step.name}.csv"


# --- as KFP's MLMD holds it ---------------------------------------------------------


def write_mlmd(run: RecordedRun, path: Path) -> dict[str, str]:
    """Write the run into an MLMD file; return the output URI of each step instance (by
    its place in the tree: names, with ``[i]`` per loop iteration)."""
    kfp = KfpStore.sqlite(path)
    r = kfp.run(run.run_id, pipeline=run.pipeline, namespace=run.namespace)
    uris: dict[str, str] = {}
    top: dict[str, int] = {}  # top-level producer -> its output artifact row

    def write(steps: list[Step], parent: Task | None, place: str) -> None:
        for s in steps:
            here = f"{place}/{s.name}"
            if s.kind == "container":
                t = r.container(
                    s.name,
                    parent=parent,
                    image=s.image,
                    input_artifacts={f"in-{p}": top[p] for p in s.reads},
                    output_artifacts={"model": "system.Model"},
                    logs=False,
                )
                uris[here] = t.uris["model"]
                if parent is None:
                    top[s.name] = t.outputs["model"]
            elif s.kind == "importer":
                t = r.importer(s.name, _importer_uri(s), parent=parent)
                uris[here] = _importer_uri(s)
                if parent is None:
                    top[s.name] = t.outputs["artifact"]
            elif s.kind == "condition" and not s.taken:
                r.not_triggered(s.name, parent=parent)
            elif s.kind == "loop":
                loop = r.dag(s.name, parent=parent, iteration_count=s.iterations)
                for i in range(s.iterations):
                    iteration = r.dag(s.name, parent=loop, iteration_index=i)
                    write(s.children, iteration, f"{here}[{i}]")
            else:
                write(s.children, r.dag(s.name, parent=parent), here)

    write(run.steps, None, "")
    r.finish()
    return uris


# --- as KFP's v2beta1 API answers it --------------------------------------------------


def pipeline_spec(run: RecordedRun) -> dict[str, Any]:
    """A compiled IR for the run's steps: a component per step, an executor per leaf."""
    components: dict[str, Any] = {}
    executors: dict[str, Any] = {}

    def dag(steps: list[Step]) -> dict[str, Any]:
        tasks: dict[str, Any] = {}
        for s in steps:
            comp = f"comp-{s.name}"
            task: dict[str, Any] = {"componentRef": {"name": comp}, "taskInfo": {"name": s.name}}
            if s.kind == "container":
                components[comp] = {"executorLabel": f"exec-{s.name}"}
                executors[f"exec-{s.name}"] = {"container": {"image": s.image}}
            elif s.kind == "importer":
                components[comp] = {"executorLabel": f"exec-{s.name}"}
                executors[f"exec-{s.name}"] = {
                    "importer": {
                        "artifactUri": {"constant": _importer_uri(s)},
                        "typeSchema": {"schemaTitle": "system.Dataset"},
                    }
                }
            else:
                components[comp] = {"dag": dag(s.children)}
                if s.kind == "loop":
                    task["parameterIterator"] = {"itemInput": "item", "items": {"raw": "[1]"}}
                if s.kind == "condition":
                    task["triggerPolicy"] = {"condition": "inputs.parameter_values['x'] == 1"}
            tasks[s.name] = task
        return {"tasks": tasks}

    root = {"dag": dag(run.steps)}
    return {
        "pipelineInfo": {"name": run.pipeline},
        "components": components,
        "deploymentSpec": {"executors": executors},
        "root": root,
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.13.0",
    }


def api_run(run: RecordedRun, uris: dict[str, str]) -> dict[str, Any]:
    """The run as ``GET /runs`` answers it on a release without MLMD."""
    ids = itertools.count(1)
    tasks: list[dict[str, Any]] = []
    artifact_ids: dict[str, str] = {}
    top_uris: dict[str, str] = {}

    def artifact(uri: str, kind: str, name: str) -> dict[str, Any]:
        server_id = artifact_ids.setdefault(uri, f"a-{len(artifact_ids) + 1}")
        return {"artifact_id": server_id, "uri": uri, "type": kind, "name": name}

    def task(name: str, kind: str, parent: str | None, **extra: Any) -> str:
        tid = f"t-{next(ids)}"
        body: dict[str, Any] = {
            "task_id": tid,
            "run_id": run.run_id,
            "name": name,
            "display_name": name,
            "type": kind,
            "state": "SUCCEEDED",
            "create_time": f"2025-10-02T10:{len(tasks) // 60:02d}:{len(tasks) % 60:02d}Z",
            **extra,
        }
        if parent is not None:
            body["parent_task_id"] = parent
        tasks.append(body)
        return tid

    def render(steps: list[Step], parent: str, place: str, index: int | None) -> None:
        inside = {"type_attributes": {"iteration_index": str(index)}} if index is not None else {}
        for s in steps:
            here = f"{place}/{s.name}"
            if s.kind == "container":
                # Typed below, from the producer's output.
                inputs = [
                    {"artifact_key": f"in-{p}", "artifacts": [artifact(top_uris[p], "", p)]}
                    for p in s.reads
                ]
                model = artifact(uris[here], "Model", "model")
                task(
                    s.name,
                    "RUNTIME",
                    parent,
                    inputs={"artifacts": inputs},
                    outputs={"artifacts": [{"artifact_key": "model", "artifacts": [model]}]},
                    pods=[
                        {"name": f"{s.name}-driver", "type": "DRIVER", "uid": "u-d"},
                        {"name": f"{s.name}-exec", "type": "EXECUTOR", "uid": "u-e"},
                    ],
                    **(inside if run.index_inside else {}),
                )
                if place == "":
                    top_uris[s.name] = uris[here]
            elif s.kind == "importer":
                data = artifact(_importer_uri(s), "Dataset", "artifact")
                task(
                    s.name,
                    "RUNTIME",
                    parent,
                    inputs={"parameters": [{"parameter_key": "uri", "value": _importer_uri(s)}]},
                    outputs={"artifacts": [{"artifact_key": "artifact", "artifacts": [data]}]},
                    **(inside if run.index_inside else {}),
                )
                if place == "":
                    top_uris[s.name] = _importer_uri(s)
            elif s.kind == "loop":
                count = {"type_attributes": {"iteration_count": str(s.iterations)}}
                loop = task(s.name, "LOOP", parent, **count)
                for i in range(s.iterations):
                    attrs = {"type_attributes": {"iteration_index": str(i)}}
                    iteration = task(s.name, run.iteration_type, loop, **attrs)
                    render(s.children, iteration, f"{here}[{i}]", i)
            elif s.kind == "condition":
                kind = "CONDITION"
                if s.taken:
                    render(s.children, task(s.name, kind, parent), here, index)
                else:
                    task(s.name, kind, parent, state="SKIPPED")
            else:
                render(s.children, task(s.name, "DAG", parent), here, index)

    root = task(run.pipeline, "ROOT", None)
    render(run.steps, root, "", None)
    # An input artifact carries the type its producer gave it.
    types = {
        a["uri"]: a["type"]
        for t in tasks
        for io in (t.get("outputs") or {}).get("artifacts", [])
        for a in io["artifacts"]
    }
    for t in tasks:
        for io in (t.get("inputs") or {}).get("artifacts", []):
            for a in io["artifacts"]:
                a["type"] = types[a["uri"]]
    return {
        "run_id": run.run_id,
        "display_name": "generated run",
        "namespace": run.namespace,
        "state": "SUCCEEDED",
        "created_at": "2025-10-02T10:00:00Z",
        "finished_at": "2025-10-02T10:30:00Z",
        "pipeline_version_reference": {
            "pipeline_id": PIPELINE_ID,
            "pipeline_version_id": VERSION_ID,
        },
        "task_count": len(tasks),
        "tasks": tasks,
    }


def api_server(run: RecordedRun, uris: dict[str, str], directory: Path) -> ReplayServer:
    """A replay server answering the run, its pipeline and its version."""
    directory.mkdir(parents=True, exist_ok=True)
    answers = {
        "experiments.json": {"experiments": []},
        "recurring_runs.json": {},
        "pipelines.json": {"pipelines": [{"pipeline_id": PIPELINE_ID, "display_name": "gen"}]},
        "versions.json": {
            "pipeline_versions": [
                {
                    "pipeline_id": PIPELINE_ID,
                    "pipeline_version_id": VERSION_ID,
                    "display_name": "v1",
                    "pipeline_spec": pipeline_spec(run),
                }
            ]
        },
        "runs.json": {"runs": [api_run(run, uris)]},
    }
    for name, body in answers.items():
        (directory / name).write_text(json.dumps(body))
    routes = {
        f"{API}/experiments": "experiments.json",
        f"{API}/recurringruns": "recurring_runs.json",
        f"{API}/pipelines": "pipelines.json",
        f"{API}/pipelines/{PIPELINE_ID}/versions": "versions.json",
        f"{API}/runs": "runs.json",
    }
    return ReplayServer(directory, routes).start()
