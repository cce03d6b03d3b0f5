"""Small KFP-shaped records for the store tests, built from the model's own id helpers."""

from __future__ import annotations

from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    RunRecord,
    artifact_id,
    pipeline_id,
    run_id,
    task_id,
)


def training_run(
    run: str = "r1",
    *,
    state: ExecutionState = ExecutionState.COMPLETE,
    learning_rate: float = 0.1,
    dataset_uri: str = "/data/iris.csv",
    model_name: str | None = None,
) -> RunRecord:
    """A root DAG, a trainer and an evaluator: dataset -> model -> metrics."""
    pipe = Context(pipeline_id("train"), KfpType.PIPELINE, "train")
    ctx = Context(run_id(run), KfpType.PIPELINE_RUN, run, {"namespace": "team-a"}, (pipe.id,))
    root = Execution(task_id(run, ""), KfpType.DAG_EXECUTION, f"run/{run}", state)
    train = Execution(
        task_id(run, "train"),
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
        task_id(run, "evaluate"),
        KfpType.CONTAINER_EXECUTION,
        None,
        state,
        {"task_name": "evaluate", "display_name": "evaluate", "cached": False},
    )
    data = Artifact(artifact_id(dataset_uri), KfpType.DATASET, dataset_uri)
    model_uri = f"/root/{run}/train/model"
    model = Artifact(
        artifact_id(model_uri),
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
        artifact_id(metrics_uri),
        KfpType.METRICS,
        metrics_uri,
        None,
        properties={"accuracy": 0.93},
    )
    events = (
        Event(train.id, data.id, EventType.INPUT, ("data",)),
        Event(train.id, model.id, EventType.OUTPUT, ("model",)),
        Event(evaluate.id, model.id, EventType.INPUT, ("model",)),
        Event(evaluate.id, metrics.id, EventType.OUTPUT, ("metrics",)),
    )
    return RunRecord((pipe, ctx), (root, train, evaluate), (data, model, metrics), events)
