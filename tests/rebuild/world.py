"""A run recorded as a KFP cluster records it (no ``runner`` property, pods run images),
built record by record, with one knob per hermeticity gap.

The spec is a compiled-IR document written by hand: an importer of raw data, then a
container task ``train`` that reads it and writes a model and metrics.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from lineage import model
from lineage.images.lineage import image_node, image_record
from lineage.images.reference import parse_reference
from lineage.ingest.spec import parse_spec, write_spec
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    ImageSource,
    KfpType,
    PropertyValue,
    RunRecord,
)
from lineage.store.port import MetadataStore

PIPELINE = "kfp-made"
RAW_BYTES = b"x1,x2,label\n0.1,0.2,1\n"
MODEL_BYTES = b'{"weights": [1, 2]}\n'
METRICS_BYTES = b'{"accuracy": 0.9}\n'
PINNED = "registry.example/team/train@sha256:" + "ab" * 32


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class World:
    """What to record; every default is hermetic."""

    run: str = "kfp-run-1"
    image: str = PINNED
    pod_image: str | None = None  # an imageID a pod reported (adds a ``pod`` image event)
    runner: str | None = None  # a ``runner`` property on the run
    command: list[str] = field(default_factory=lambda: ["python3", "/app/train.py"])
    env: list[dict[str, str]] = field(default_factory=list)
    raw_digest: bool = True
    model_digest: bool = True
    with_spec: bool = True
    pod_annotations: dict[str, str] = field(default_factory=dict)  # of train, in the platform spec
    epochs: int = 3

    def spec(self) -> dict[str, Any]:
        container: dict[str, Any] = {
            "image": self.image,
            "command": self.command,
            "args": ["--epochs", "{{$.inputs.parameters['epochs']}}"],
        }
        if self.env:
            container["env"] = self.env
        raw = {"taskOutputArtifact": {"producerTask": "importer", "outputArtifactKey": "artifact"}}
        return {
            "pipelineInfo": {"name": PIPELINE},
            "schemaVersion": "2.1.0",
            "sdkVersion": "kfp-2.13.0",
            "root": {
                "dag": {
                    "tasks": {
                        "importer": {
                            "taskInfo": {"name": "importer"},
                            "componentRef": {"name": "comp-importer"},
                        },
                        "train": {
                            "taskInfo": {"name": "train"},
                            "componentRef": {"name": "comp-train"},
                            "dependentTasks": ["importer"],
                            "inputs": {
                                "artifacts": {"raw": raw},
                                "parameters": {"epochs": {"componentInputParameter": "epochs"}},
                            },
                        },
                    }
                },
                "inputDefinitions": {"parameters": {"epochs": {"parameterType": "NUMBER_INTEGER"}}},
            },
            "components": {
                "comp-importer": {"executorLabel": "exec-importer"},
                "comp-train": {"executorLabel": "exec-train"},
            },
            "deploymentSpec": {
                "executors": {
                    "exec-importer": {
                        "importer": {
                            "artifactUri": {"constant": "s3://lake/raw.csv"},
                            "typeSchema": {"schemaTitle": "system.Dataset"},
                        }
                    },
                    "exec-train": {"container": container},
                }
            },
        }

    def platform_spec(self) -> dict[str, Any] | None:
        """The Kubernetes platform spec kfp-kubernetes writes for pod annotations, if any."""
        if not self.pod_annotations:
            return None
        executor = {"podMetadata": {"annotations": self.pod_annotations}}
        executors = {"exec-train": executor}
        return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": executors}}}}

    def ids(self) -> dict[str, str]:
        return {
            "run": model.run_id(self.run),
            "root": model.task_id(self.run, ""),
            "importer": model.task_id(self.run, "importer"),
            "train": model.task_id(self.run, "train"),
            "raw": model.artifact_id("s3://lake/raw.csv"),
            "model": model.artifact_id(f"s3://root/{self.run}/train/model"),
            "metrics": model.artifact_id(f"s3://root/{self.run}/train/metrics"),
        }

    def record(self, store: MetadataStore) -> dict[str, str]:
        """Write the spec (unless left out) and the run; the ids of what was written."""
        info = parse_spec(self.spec(), self.platform_spec())
        parents = [model.pipeline_id(PIPELINE)]
        if self.with_spec:
            write_spec(store, info)
            parents.append(info.id)
        ids = self.ids()
        store.put_run(self._run_record(ids, tuple(parents)))
        if self.pod_image is not None:
            (train,) = store.get_executions([ids["train"]])
            node = image_node(
                parse_reference(self.pod_image), str(parse_reference(self.pod_image).digest)
            )
            store.put_run(image_record(train, node, ImageSource.POD, self.image, store))
        return {**ids, "spec": info.id}

    def _run_record(self, ids: dict[str, str], parents: tuple[str, ...]) -> RunRecord:
        run_props: dict[str, model.PropertyValue] = {"namespace": "team", "pipeline_root": "s3://"}
        if self.runner is not None:
            run_props["runner"] = self.runner
        events = (
            Event(ids["importer"], ids["raw"], EventType.OUTPUT, ("artifact",)),
            Event(ids["train"], ids["raw"], EventType.INPUT, ("raw",)),
            Event(ids["train"], ids["model"], EventType.OUTPUT, ("model",)),
            Event(ids["train"], ids["metrics"], EventType.OUTPUT, ("metrics",)),
        )
        contexts = (
            Context(model.pipeline_id(PIPELINE), KfpType.PIPELINE, PIPELINE),
            Context(ids["run"], KfpType.PIPELINE_RUN, self.run, run_props, parents),
        )
        return RunRecord(contexts, self._executions(ids), self._artifacts(ids), events)

    def _executions(self, ids: dict[str, str]) -> tuple[Execution, ...]:
        done = ExecutionState.COMPLETE
        child: dict[str, PropertyValue] = {"parent_task": ids["root"]}
        train: dict[str, PropertyValue] = {
            **child,
            "task_name": "train",
            "image": self.image,
            "inputs": {"epochs": self.epochs},
            "outputs": {"loss": 0.25},
        }
        root: dict[str, PropertyValue] = {"task_name": "", "inputs": {"epochs": self.epochs}}
        return (
            Execution(ids["root"], KfpType.DAG_EXECUTION, None, done, root),
            Execution(
                ids["importer"],
                KfpType.IMPORTER_EXECUTION,
                None,
                done,
                {**child, "task_name": "importer"},
            ),
            Execution(ids["train"], KfpType.CONTAINER_EXECUTION, None, done, train),
        )

    def _artifacts(self, ids: dict[str, str]) -> tuple[Artifact, ...]:
        out = f"s3://root/{self.run}/train"
        return (
            _artifact(
                ids["raw"], "system.Dataset", "s3://lake/raw.csv", RAW_BYTES, self.raw_digest
            ),
            _artifact(ids["model"], "system.Model", f"{out}/model", MODEL_BYTES, self.model_digest),
            _artifact(ids["metrics"], "system.Metrics", f"{out}/metrics", METRICS_BYTES, True, 0.9),
        )


def _artifact(
    art_id: str, type_: str, uri: str, data: bytes, with_digest: bool, accuracy: float | None = None
) -> Artifact:
    props: dict[str, model.PropertyValue] = {} if accuracy is None else {"accuracy": accuracy}
    if with_digest:
        props.update({"digest": digest(data), "digest_kind": "file"})
    else:
        props["digest_absent"] = "not requested"
    return Artifact(art_id, type_, uri, properties=props)
