"""The recorded runs every reader is tested on: three runs of a training pipeline.

    raw (hub dataset, snapshotted) ──> r1/preprocess ──> clean1 ──> r1/train(lr=0.1) ──> model1
                                   └─> r2/preprocess  (CACHED from r1/preprocess, re-uses clean1)
                                                       clean1 ──> r2/train(lr=0.2) ──> model2
    model2 ──> r3/export ──> model3 ──> r3/loop/evaluate ──> metrics3

Images: preprocess runs ``prep``, train runs ``trainer:v1`` in r1 and ``trainer:v2`` in r2.
r1 and r2 run different specs (versions) of one pipeline; r3 is a second pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage.model import Artifact, ExecutionState, KfpType, RunRecord
from lineage.store.port import MetadataStore
from tests.kit.records import Run, dataset, image, snapshot_record


@dataclass(frozen=True)
class Scenario:
    raw: Artifact
    snapshot: str
    prep_image: Artifact
    trainer_v1: Artifact
    trainer_v2: Artifact
    r1: Run
    r2: Run
    r3: Run
    records: tuple[RunRecord, ...]

    def out(self, run: Run, key: str) -> str:
        return run.outputs[key].id


def build() -> Scenario:
    raw = dataset("gs://data/raw.csv", name="raw")
    prep = image("registry.local/prep", "1.0")
    trainer_v1 = image("registry.local/trainer", "v1")
    trainer_v2 = image("registry.local/trainer", "v2")

    r1 = Run("r1", spec={"pipelineInfo": {"name": "train-pipeline"}, "v": 1})
    r1.task(
        "preprocess",
        inputs={"raw": raw},
        outputs={"clean": KfpType.DATASET},
        params={"split": 0.8},
        image=prep,
        source_digest="sha256:prep-src",
    )
    clean1 = r1.outputs["preprocess/clean"]
    r1.task(
        "train",
        inputs={"data": clean1},
        outputs={"model": KfpType.MODEL},
        params={"lr": 0.1, "epochs": 3},
        image=trainer_v1,
        source_digest="sha256:train-src-1",
    )

    r2 = Run("r2", spec={"pipelineInfo": {"name": "train-pipeline"}, "v": 2}, state="FAILED")
    r2.task(
        "preprocess",
        inputs={"raw": raw},
        params={"split": 0.8},
        image=prep,
        state=ExecutionState.CACHED,
        cached_from=r1.executions[1].id,
        reuse={"clean": clean1},
        source_digest="sha256:prep-src",
    )
    r2.task(
        "train",
        inputs={"data": clean1},
        outputs={"model": KfpType.MODEL},
        params={"lr": 0.2, "epochs": 3},
        image=trainer_v2,
        source_digest="sha256:train-src-2",
    )

    r3 = Run("r3", pipeline_name="export-pipeline", spec={"pipelineInfo": {"name": "export"}})
    r3.task(
        "export",
        inputs={"model": r2.outputs["train/model"]},
        outputs={"exported": KfpType.MODEL},
        params={"format": "onnx"},
    )
    loop = r3.dag("loop")
    r3.task(
        "loop/evaluate",
        inputs={"model": r3.outputs["export/exported"]},
        outputs={"metrics": KfpType.METRICS},
        parent=loop,
    )
    snap_record, snap_id = snapshot_record(raw, "raw-v1")
    records = (r1.record(), snap_record, r2.record(), r3.record())
    return Scenario(raw, snap_id, prep, trainer_v1, trainer_v2, r1, r2, r3, records)


def write(store: MetadataStore, scenario: Scenario) -> None:
    for record in scenario.records:
        store.put_run(record)
