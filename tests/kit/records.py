"""The one kit of records for the tests and the benchmarks: KFP-shaped RunRecords, built
the way KFP's v2 driver records a run.

A run has a pipeline context, a pipeline version (its spec), a run context, a
root DAG task, container tasks with ``inputs`` parameters and an ``image``,
artifacts (datasets, models, metrics) joined by INPUT/OUTPUT events, and
optionally images (lineage.Image), snapshots (lineage.SnapshotExecution) and
cache hits (a CACHED task with ``cached_from`` re-using the original's outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineage import model
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


def digest_of(text: str) -> str:
    return f"sha256:{model.sha256_hex(text.encode())}"


def image(repository: str, tag: str = "latest") -> Artifact:
    return image_artifact(repository, tag, digest_of(f"{repository}:{tag}"))


def image_artifact(repository: str, tag: str, digest: str) -> Artifact:
    """A lineage.Image node of ``repository:tag`` resolved to ``digest``."""
    return Artifact(
        id=model.image_id(repository, digest),
        type=LineageType.IMAGE,
        uri=f"oci://{repository}@{digest}",
        name=f"{repository}:{tag}",
        properties={"repository": repository, "tag": tag, "digest": digest},
    )


def dataset(uri: str, type: str = KfpType.DATASET, name: str | None = None) -> Artifact:
    """An artifact whose ``digest`` is derived from its URI (stands for its content)."""
    return Artifact(
        id=model.artifact_id(uri),
        type=type,
        uri=uri,
        properties={"display_name": name or uri.rsplit("/", 1)[-1], "digest": digest_of(uri)},
    )


def pipeline(name: str) -> Context:
    return Context(id=model.pipeline_id(name), type=KfpType.PIPELINE, name=name)


def version(pipeline_name: str, spec: dict[str, Any], sources: dict[str, str]) -> Context:
    spec_id = model.spec_id(spec)
    return Context(
        id=spec_id,
        type=LineageType.PIPELINE_VERSION,
        name=spec_id,
        properties={"pipeline_name": pipeline_name, "source_digests": dict(sources)},
        parents=(model.pipeline_id(pipeline_name),),
    )


@dataclass
class Run:
    """Builds one run. ``task`` returns the task id; outputs are kept by ``<task>/<key>``."""

    run: str
    pipeline_name: str = "train-pipeline"
    spec: dict[str, Any] = field(default_factory=lambda: {"pipelineInfo": {"name": "p"}})
    state: str = "SUCCEEDED"
    sources: dict[str, str] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    outputs: dict[str, Artifact] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = model.task_id(self.run, "root")
        self.executions.append(
            Execution(
                id=self.root,
                type=KfpType.DAG_EXECUTION,
                name=f"run/{self.run}",
                state=ExecutionState.COMPLETE,
                properties={"display_name": self.run, "task_name": "root"},
            )
        )

    @property
    def run_id(self) -> str:
        return model.run_id(self.run)

    @property
    def version_id(self) -> str:
        return model.spec_id(self.spec)

    def artifact(self, art: Artifact) -> Artifact:
        self.artifacts[art.id] = art
        return art

    def task(
        self,
        path: str,
        *,
        inputs: dict[str, Artifact] | None = None,
        outputs: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        image: Artifact | None = None,
        state: ExecutionState = ExecutionState.COMPLETE,
        parent: str | None = None,
        cached_from: str | None = None,
        reuse: dict[str, Artifact] | None = None,
        source_digest: str | None = None,
    ) -> str:
        """A container task. ``outputs`` maps output keys to artifact types; a cache hit
        passes ``cached_from`` and ``reuse`` (the original's outputs) instead."""
        tid = model.task_id(self.run, path)
        name = path.rsplit("/", 1)[-1]
        props: dict[str, model.PropertyValue] = {
            "display_name": name,
            "task_name": name,
            "parent_task": parent or self.root,
            "inputs": dict(params or {}),
        }
        if image is not None:
            props["image"] = (
                str(image.properties["repository"]) + ":" + str(image.properties["tag"])
            )
        if cached_from is not None:
            props["cached_from"] = cached_from
        if source_digest is not None:
            props["source_digest"] = source_digest
            self.sources[path] = source_digest
        self.executions.append(
            Execution(id=tid, type=KfpType.CONTAINER_EXECUTION, state=state, properties=props)
        )
        for key, art in (inputs or {}).items():
            self.artifact(art)
            self.events.append(Event(tid, art.id, EventType.INPUT, (key,)))
        if image is not None:
            self.artifact(image)
            self.events.append(
                Event(tid, image.id, EventType.INPUT, ("image", ImageSource.POD.value))
            )
        for key, type_name in (outputs or {}).items():
            art = self.artifact(
                dataset(f"gs://bucket/{self.run}/{path}/{key}", type_name, name=key)
            )
            self.outputs[f"{path}/{key}"] = art
            self.events.append(Event(tid, art.id, EventType.OUTPUT, (key,)))
        for key, art in (reuse or {}).items():
            self.artifact(art)
            self.outputs[f"{path}/{key}"] = art
            self.events.append(Event(tid, art.id, EventType.OUTPUT, (key,)))
        return tid

    def dag(self, path: str, parent: str | None = None) -> str:
        tid = model.task_id(self.run, path)
        self.executions.append(
            Execution(
                id=tid,
                type=KfpType.DAG_EXECUTION,
                state=ExecutionState.COMPLETE,
                properties={"task_name": path, "parent_task": parent or self.root},
            )
        )
        return tid

    def record(self) -> RunRecord:
        pipe = pipeline(self.pipeline_name)
        ver = version(self.pipeline_name, self.spec, self.sources)
        run_ctx = Context(
            id=self.run_id,
            type=KfpType.PIPELINE_RUN,
            name=self.run,
            properties={"state": self.state, "display_name": self.run},
            parents=(pipe.id, ver.id),
        )
        return RunRecord(
            contexts=(pipe, ver, run_ctx),
            executions=tuple(self.executions),
            artifacts=tuple(self.artifacts.values()),
            events=tuple(self.events),
        )


def snapshot_record(source: Artifact, root_text: str) -> tuple[RunRecord, str]:
    """A snapshot of ``source``: the snapshotting execution reads it, writes the snapshot."""
    snap_id = model.snapshot_id(model.sha256_hex(root_text.encode()))
    snap = Artifact(
        id=snap_id,
        type=LineageType.SNAPSHOT,
        uri=f"file:///snapshots/{snap_id}",
        properties={"root": snap_id},
    )
    ex = Execution(
        id=model.snapshotting_id(source.id, snap_id),
        type=LineageType.SNAPSHOT_EXECUTION,
        state=ExecutionState.COMPLETE,
    )
    record = RunRecord(
        executions=(ex,),
        artifacts=(source, snap),
        events=(
            Event(ex.id, source.id, EventType.INPUT, (model.SNAPSHOT_SOURCE_KEY,)),
            Event(ex.id, snap_id, EventType.OUTPUT, (model.SNAPSHOT_OUTPUT_KEY,)),
        ),
    )
    return record, snap_id


def record_node_ids(record: RunRecord) -> list[str]:
    """The ids of every context, execution and artifact of a record, in that order."""
    return [
        *(c.id for c in record.contexts),
        *(e.id for e in record.executions),
        *(a.id for a in record.artifacts),
    ]


def training_run(
    run: str = "r1",
    *,
    state: ExecutionState = ExecutionState.COMPLETE,
    learning_rate: float = 0.1,
    dataset_uri: str = "/data/iris.csv",
    model_name: str | None = None,
) -> RunRecord:
    """The store tests' run: a root DAG, a trainer and an evaluator, dataset -> model ->
    metrics, with every property type MLMD keeps."""
    pipe = pipeline("train")
    ctx = Context(model.run_id(run), KfpType.PIPELINE_RUN, run, {"namespace": "team-a"}, (pipe.id,))
    root = Execution(model.task_id(run, ""), KfpType.DAG_EXECUTION, f"run/{run}", state)
    train = Execution(
        model.task_id(run, "train"),
        KfpType.CONTAINER_EXECUTION,
        None,
        state,
        {
            "task_name": "train",
            "display_name": "train",
            "inputs": {"lr": learning_rate, "epochs": 3},
            "image": "py:3.11",
        },
    )
    evaluate = Execution(
        model.task_id(run, "evaluate"),
        KfpType.CONTAINER_EXECUTION,
        None,
        state,
        {"task_name": "evaluate", "display_name": "evaluate", "cached": False},
    )
    data = Artifact(model.artifact_id(dataset_uri), KfpType.DATASET, dataset_uri)
    model_uri = f"/root/{run}/train/model"
    trained = Artifact(
        model.artifact_id(model_uri),
        KfpType.MODEL,
        model_uri,
        model_name,
        properties={
            "display_name": "model",
            "digest": "ab" * 32,
            "size": 1024,
        },
    )
    metrics_uri = f"/root/{run}/evaluate/metrics"
    metrics = Artifact(
        model.artifact_id(metrics_uri),
        KfpType.METRICS,
        metrics_uri,
        None,
        properties={"accuracy": 0.93},
    )
    events = (
        Event(train.id, data.id, EventType.INPUT, ("data",)),
        Event(train.id, trained.id, EventType.OUTPUT, ("model",)),
        Event(evaluate.id, trained.id, EventType.INPUT, ("model",)),
        Event(evaluate.id, metrics.id, EventType.OUTPUT, ("metrics",)),
    )
    return RunRecord((pipe, ctx), (root, train, evaluate), (data, trained, metrics), events)
