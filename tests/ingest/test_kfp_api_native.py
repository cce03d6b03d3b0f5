"""Releases of KFP without MLMD expose tasks and artifacts in v2beta1: ``ingest kfp``
records them as lineage, under the names the MLMD ingest gives the same run.

Replayed from recorded responses (tests/fixtures/kfp_api/native) by a local HTTP server
on 127.0.0.1; no KFP cluster runs here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.ingest.kfp_api.client import KfpApiClient
from lineage.ingest.kfp_api.importer import KfpApiIngest
from lineage.model import (
    EventType,
    ExecutionState,
    KfpType,
    artifact_id,
    pipeline_id,
    run_id,
    task_id,
)
from lineage.store.mlmd import MlmdStore
from tests.ingest.mlmd_helpers import fast_tmp, open_home
from tests.services.kfp_api_replay import FIXTURES, NATIVE, ReplayServer

__all__ = ["fast_tmp"]

RUN = "9d3b8e4a-7c21-4f0e-8b6d-1e2f3a4b5c01"


@pytest.fixture
def ingested(fast_tmp: Path) -> Iterator[MlmdStore]:
    server = ReplayServer.of("native", NATIVE).start()
    store = open_home(fast_tmp / "home")
    try:
        with KfpApiClient(server.url, sleep=lambda _: None) as client:
            report = KfpApiIngest(client, store).run()
        assert (report.read, report.failed) == (2, 0)  # the version, the run
        yield store
    finally:
        store.close()
        server.stop()


def _recorded_tasks() -> list[dict[str, object]]:
    runs = json.loads((FIXTURES / "native" / "runs.json").read_text())["runs"]
    return runs[0]["tasks"]  # type: ignore[no-any-return]


def _spec_image(executor: str) -> str:
    versions = json.loads((FIXTURES / "native" / "pipeline_versions.json").read_text())
    spec = versions["pipeline_versions"][0]["pipeline_spec"]
    spec = spec.get("pipeline_spec", spec)
    return str(spec["deploymentSpec"]["executors"][executor]["container"]["image"])


def _events(store: MlmdStore, task: str) -> set[tuple[EventType, str | None, str]]:
    return {(e.type, e.key, e.artifact) for e in store.get_events(execution_ids=[task])}


def test_tasks_become_executions_with_kfp_paths_and_states(ingested: MlmdStore) -> None:
    record = ingested.get_run(run_id(RUN))
    by_id = {e.id: e for e in record.executions}
    assert len(by_id) == len(_recorded_tasks())
    root = by_id[task_id(RUN, "")]
    assert (root.type, root.name, root.state) == (
        KfpType.DAG_EXECUTION,
        f"run/{RUN}",
        ExecutionState.COMPLETE,
    )
    loop = by_id[task_id(RUN, "for-loop-2")]
    assert loop.properties["iteration_count"] == 2
    for i in range(2):
        iteration = by_id[task_id(RUN, f"for-loop-2/for-loop-2[{i}]")]
        train = by_id[task_id(RUN, f"for-loop-2/for-loop-2[{i}]/train")]
        assert iteration.properties["parent_task"] == loop.id
        assert train.properties["parent_task"] == iteration.id
        assert train.type == KfpType.CONTAINER_EXECUTION
        recorded = next(t for t in _recorded_tasks() if t["task_id"] == f"t-train{i}")
        executor = next(p for p in recorded["pods"] if p["type"] == "EXECUTOR")  # type: ignore[attr-defined]
        assert train.properties["pod_name"] == executor["name"]
        assert train.properties["inputs"] == {"learning_rate": pytest.approx(0.1 * (i + 1))}
        # KFP's launcher records the image the spec names and the run's namespace.
        assert train.properties["image"] == _spec_image("exec-train")
        assert train.properties["namespace"] == "team-a"
        assert "iteration_index" not in train.properties  # the iteration holds it
    importer = by_id[task_id(RUN, "importer")]
    assert importer.type == KfpType.IMPORTER_EXECUTION
    assert "image" not in importer.properties
    skipped = by_id[task_id(RUN, "condition-branches-1")]
    assert skipped.state == ExecutionState.CANCELED
    [ctx] = ingested.get_contexts([run_id(RUN)])
    assert pipeline_id("training-pipeline") in ctx.parents
    assert ctx.properties["namespace"] == "team-a"


def test_artifacts_and_events_follow_the_tasks_inputs_and_outputs(ingested: MlmdStore) -> None:
    base = f"minio://mlpipeline/v2/artifacts/training-pipeline/{RUN}"
    dataset = artifact_id("gs://datasets/iris.csv")
    models = [artifact_id(f"{base}/train/{i}/model") for i in range(2)]
    assert (EventType.OUTPUT, "artifact", dataset) in _events(ingested, task_id(RUN, "importer"))
    for i in range(2):
        train = _events(ingested, task_id(RUN, f"for-loop-2/for-loop-2[{i}]/train"))
        assert train == {
            (EventType.INPUT, "dataset", dataset),
            (EventType.OUTPUT, "model", models[i]),
        }
    evaluate = _events(ingested, task_id(RUN, "evaluate"))
    assert {(EventType.INPUT, "model", m) for m in models} <= evaluate
    [model] = ingested.get_artifacts([models[0]])
    assert model.type == KfpType.MODEL
    assert model.properties["framework"] == "sklearn"
    assert model.properties["tags"] == {"values": ["iris", "fold-0"]}
    [metric] = ingested.get_artifacts(["artifact:kfp/a-0201"])
    assert (metric.type, metric.uri) == (KfpType.METRICS, "")
    assert metric.properties["accuracy"] == pytest.approx(0.93)
    assert (EventType.OUTPUT, "accuracy", metric.id) in evaluate
