"""The recorded store the API tests query.

It holds the example pipelines recorded with kfp.local exactly as ``lineage demo``
records them (training, a three-point learning-rate sweep, the importer), then
facts the other sources add:

- image digests for every task, as ``lineage images resolve`` would link them
  (the registry lookup is left out: its digest is a fixed value here). The
  training and sweep tasks ran IMAGE_A, the importer's ran IMAGE_B;
- a snapshot of the training run's dataset, taken with the snapshot code, and one of
  its model, which only the ``local`` namespace sees (nothing of team-b touches it);
- a run in another KFP namespace, ``team-b``, that reads the training run's
  dataset and builds its own model with IMAGE_A: the cross-namespace case.

The kfp.local runs are in the namespace ``local``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

from lineage import model
from lineage.examples.demo import record_examples
from lineage.images.lineage import image_node, image_record
from lineage.images.reference import parse_reference
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ImageSource,
    KfpType,
    LineageType,
    RunRecord,
)
from lineage.snapshots.blobs import LocalBlobStore
from lineage.snapshots.lineage import snapshot_artifact
from lineage.store.mlmd import MlmdStore
from tests.kit.records import digest_of

IMAGE_A = digest_of("python:3.11-slim as the trainers ran it")
IMAGE_B = digest_of("python:3.11-slim as the importer ran it")
TEAM_B = "team-b"
TEAM_B_RUN = "run:team-b-scoring-1"
TEAM_B_MODEL = "artifact:gs://team-b/scoring-1/model"


@dataclass(frozen=True)
class World:
    home: Path
    runs: dict[str, str]  # example name -> run id
    snapshot: str
    model_snapshot: str  # of the training run's model: hidden from team-b
    team_b_run: str = TEAM_B_RUN
    team_b_model: str = TEAM_B_MODEL

    def run_of(self, name: str) -> str:
        return self.runs[name]


def _model_of(store: MlmdStore, run: str) -> Artifact:
    return next(a for a in store.get_run(run).artifacts if a.type == KfpType.MODEL)


def _dataset_of(store: MlmdStore, run: str) -> Artifact:
    record = store.get_run(run)
    maker = next(e for e in record.executions if e.id.endswith("/make-dataset"))
    out = next(
        ev.artifact
        for ev in record.events
        if ev.execution == maker.id and ev.type is EventType.OUTPUT
    )
    return next(a for a in record.artifacts if a.id == out)


def image(reference: str, digest: str) -> Artifact:
    # image_node names the node by its tag, and MLMD keeps names unique per type, so
    # one tag at two digests (a tag that moved) cannot both be stored under that
    # name; the name is dropped here (reported to the images module's owner).
    return replace(image_node(parse_reference(reference), digest), name=None)


def _link_images(store: MlmdStore, run: str, digest: str) -> None:
    record = store.get_run(run)
    for task in record.executions:
        reference = task.properties.get("image")
        if isinstance(reference, str) and reference:
            store.put_run(image_record(task, image(reference, digest), ImageSource.PINNED))


def _team_b_record(dataset: Artifact, used: Artifact) -> RunRecord:
    pipeline = Context(
        id=model.pipeline_id("scoring", TEAM_B),
        type=KfpType.PIPELINE,
        name="scoring",
        properties={"namespace": TEAM_B},
    )
    spec = {"pipelineInfo": {"name": "scoring"}, "root": {"dag": {"tasks": {"score": {}}}}}
    version = Context(
        id=model.spec_id(spec),
        type=LineageType.PIPELINE_VERSION,
        name=model.spec_id(spec),
        properties={"pipeline_name": "scoring"},
        parents=(pipeline.id,),
    )
    run = Context(
        id=TEAM_B_RUN,
        type=KfpType.PIPELINE_RUN,
        name="team-b-scoring-1",
        properties={"namespace": TEAM_B, "display_name": "scoring 1"},
        parents=(pipeline.id, version.id),
    )
    root = Execution(
        id=model.task_id("team-b-scoring-1", ""),
        type=KfpType.DAG_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"display_name": "scoring", "namespace": TEAM_B},
    )
    score = Execution(
        id=model.task_id("team-b-scoring-1", "score"),
        type=KfpType.CONTAINER_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={
            "display_name": "score",
            "task_name": "score",
            "namespace": TEAM_B,
            "image": "python:3.11-slim",
            "inputs": {"threshold": 0.5},
        },
    )
    out = Artifact(
        id=TEAM_B_MODEL,
        type=KfpType.MODEL,
        uri="gs://team-b/scoring-1/model",
        properties={"display_name": "model", "digest": "sha256:" + "b" * 64},
    )
    metrics = Artifact(
        id="artifact:gs://team-b/scoring-1/metrics",
        type=KfpType.METRICS,
        uri="gs://team-b/scoring-1/metrics",
        properties={"display_name": "metrics", "accuracy": 0.99},
    )
    return RunRecord(
        contexts=(pipeline, version, run),
        executions=(root, score),
        artifacts=(dataset, used, out, metrics),
        events=(
            Event(score.id, dataset.id, EventType.INPUT, ("dataset",)),
            Event(score.id, used.id, EventType.INPUT, ("image", ImageSource.PINNED.value)),
            Event(score.id, out.id, EventType.OUTPUT, ("model",)),
            Event(score.id, metrics.id, EventType.OUTPUT, ("metrics",)),
        ),
    )


def build_world(store: MlmdStore, home: Path) -> World:
    runs = record_examples(store, home, io.StringIO(), lambda _m: None).runs
    for name, run in runs.items():
        _link_images(store, run, IMAGE_B if name == "importer" else IMAGE_A)
    dataset = _dataset_of(store, runs["training"])
    parts = snapshot_artifact(dataset, Path(dataset.uri), LocalBlobStore(home / "snapshots"))
    store.put_run(parts.record(dataset))
    trained = _model_of(store, runs["training"])
    of_model = snapshot_artifact(trained, Path(trained.uri), LocalBlobStore(home / "snapshots"))
    store.put_run(of_model.record(trained))
    store.put_run(_team_b_record(dataset, image("python:3.11-slim", IMAGE_A)))
    return World(
        home=home,
        runs=dict(runs),
        snapshot=parts.snapshot.id,
        model_snapshot=of_model.snapshot.id,
    )


def model_of(store: MlmdStore, run: str) -> Artifact:
    return _model_of(store, run)


def dataset_of(store: MlmdStore, run: str) -> Artifact:
    return _dataset_of(store, run)
