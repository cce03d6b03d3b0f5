"""A generator of KFP-shaped stores for the lineage benchmarks.

Every run is a four-task KFP pipeline run (ingest -> prep -> train -> eval) under a
pipeline context, a pipeline version and a run context, with a root DAG task:

    hub ──> ingest ──> raw ──> prep ──> clean ──> train ──> model ──> eval ──> metrics
                                    base model ──┘ (the previous run of its chain)

- a hub dataset is read by the ingest task of every run;
- runs form chains of ``chain`` runs: each train also reads the model of the
  previous run in its chain, so lineage goes ``2 * chain`` edges deep;
- each task runs one of a few images (lineage.Image artifacts, KFP's image event).

Its nodes are built by the tests' kit (tests/kit/records.py).

Run as a script to build a store: ``.venv/bin/python bench/gen.py PATH --runs 2000``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lineage import model
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    LineageType,
    RunRecord,
)
from tests.kit.records import dataset, digest_of, image_artifact, pipeline

TASKS = ("ingest", "prep", "train", "eval")
IMAGES = 5
HUB_URI = "gs://bench/hub/events.parquet"


@dataclass(frozen=True)
class Shape:
    runs: int
    chain: int = 50

    def run_name(self, index: int) -> str:
        return f"bench-{index:07d}"

    def model_id(self, index: int) -> str:
        return model.artifact_id(f"gs://bench/{self.run_name(index)}/train/model")

    def chain_end(self, chain_index: int) -> int:
        """The last run index of a full chain (its model has the deepest lineage)."""
        return min((chain_index + 1) * self.chain, self.runs) - 1


def hub() -> Artifact:
    return dataset(HUB_URI, name="events")


def image(i: int) -> Artifact:
    repository = f"registry.bench/step{i}"
    return image_artifact(repository, "v1", digest_of(repository))


def run_record(shape: Shape, index: int) -> RunRecord:
    name = shape.run_name(index)
    pipe = pipeline("bench")
    spec = {"pipelineInfo": {"name": "bench"}, "version": index % 7}
    version = Context(
        id=model.spec_id(spec),
        type=LineageType.PIPELINE_VERSION,
        name=model.spec_id(spec),
        properties={"pipeline_name": "bench"},
        parents=(pipe.id,),
    )
    run = Context(
        id=model.run_id(name),
        type=KfpType.PIPELINE_RUN,
        name=name,
        properties={"state": "SUCCEEDED"},
        parents=(pipe.id, version.id),
    )
    root = model.task_id(name, "root")
    executions = [Execution(root, KfpType.DAG_EXECUTION, f"run/{name}", ExecutionState.COMPLETE)]
    artifacts: dict[str, Artifact] = {}
    events: list[Event] = []
    upstream = hub()
    artifacts[upstream.id] = upstream
    outputs = {"ingest": "raw", "prep": "clean", "train": "model", "eval": "metrics"}
    types = {"raw": KfpType.DATASET, "clean": KfpType.DATASET, "model": KfpType.MODEL}
    for step, task in enumerate(TASKS):
        tid = model.task_id(name, task)
        executions.append(
            Execution(
                tid,
                KfpType.CONTAINER_EXECUTION,
                state=ExecutionState.COMPLETE,
                properties={
                    "task_name": task,
                    "display_name": task,
                    "parent_task": root,
                    "inputs": {"seed": index, "step": step},
                },
            )
        )
        events.append(Event(tid, upstream.id, EventType.INPUT, ("input",)))
        if task == "train" and index % shape.chain:
            base_uri = f"gs://bench/{shape.run_name(index - 1)}/train/model"
            base = dataset(base_uri, KfpType.MODEL, name="model")
            artifacts[base.id] = base
            events.append(Event(tid, base.id, EventType.INPUT, ("base_model",)))
        img = image((index + step) % IMAGES)
        artifacts[img.id] = img
        events.append(Event(tid, img.id, EventType.INPUT, ("image", "pod")))
        key = outputs[task]
        uri = f"gs://bench/{name}/{task}/{key}"
        out = dataset(uri, types.get(key, KfpType.METRICS), name=key)
        artifacts[out.id] = out
        events.append(Event(tid, out.id, EventType.OUTPUT, (key,)))
        upstream = out
    return RunRecord(
        (pipe, version, run), tuple(executions), tuple(artifacts.values()), tuple(events)
    )


def records(shape: Shape, start: int = 0) -> Iterator[RunRecord]:
    for index in range(start, shape.runs):
        yield run_record(shape, index)


def main() -> None:
    from lineage.store.connect import open_sqlite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--chain", type=int, default=50)
    args = parser.parse_args()
    store = open_sqlite(args.path)
    started = time.monotonic()
    for record in records(Shape(args.runs, args.chain)):
        store.put_run(record)
    took = time.monotonic() - started
    print(f"{args.runs} runs in {took:.1f}s ({args.runs / took:.0f} runs/s)")


if __name__ == "__main__":
    main()
