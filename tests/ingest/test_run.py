"""`lineage run`: real kfp.local runs recorded in a real MLMD SQLite store, as KFP records them.

The four-step acceptance run goes through the installed `lineage` script in a
subprocess; the expected names are KFP's (backend/src/v2/metadata/client.go).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lineage.examples.importer import write_sample_data
from lineage.model import RunRecord
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore

REPO = Path(__file__).resolve().parents[2]
LINEAGE = Path(sys.executable).parent / "lineage"


def lineage(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return subprocess.run(
        [str(LINEAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def file_digest(uri: str) -> str:
    return "sha256:" + hashlib.sha256(Path(uri).read_bytes()).hexdigest()


@dataclass
class Ran:
    home: Path
    root: Path
    raw: Path
    out: subprocess.CompletedProcess[str]
    summary: dict[str, Any]

    def store(self) -> MlmdStore:
        return open_sqlite(self.home / "mlmd.sqlite")


@pytest.fixture(scope="module")
def four_steps(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    base = tmp_path_factory.mktemp("four-steps")
    raw = write_sample_data(base / "lake" / "raw.csv", rows=60)
    root = base / "root"
    out = lineage(
        [
            "run",
            "lineage/examples/importer.py:importer_pipeline",
            "--arg",
            f"data_uri={raw}",
            "--arg",
            "epochs=5",
            "--pipeline-root",
            str(root),
            "--json",
        ],
        base / "home",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return Ran(base / "home", root, raw, out, json.loads(out.stdout))


@pytest.fixture
def record(four_steps: Ran) -> Iterator[tuple[MlmdStore, RunRecord]]:
    store = four_steps.store()
    try:
        yield store, store.get_run(f"run:{four_steps.summary['run_id']}")
    finally:
        store.close()


def test_json_names_the_run_its_tasks_and_their_outputs(four_steps: Ran) -> None:
    summary = four_steps.summary
    run_id = summary["run_id"]
    assert run_id.startswith("importer-training-")
    assert (summary["pipeline"], summary["state"]) == ("importer-training", "COMPLETE")
    names = [t["name"] for t in summary["tasks"]]
    assert names == ["importer", "prepare-dataset", "train-model", "evaluate-model"]
    assert all(t["state"] == "COMPLETE" for t in summary["tasks"])
    outputs = {t["name"]: t["outputs"] for t in summary["tasks"]}
    assert set(outputs["evaluate-model"]) == {"metrics", "confusion"}
    model = outputs["train-model"]["model"]
    assert model["type"] == "system.Model"
    assert model["uri"] == str(four_steps.root / run_id / "train-model" / "model")
    assert model["id"] == f"artifact:{model['uri']}"
    assert model["digest"] == file_digest(model["uri"])
    assert outputs["importer"]["artifact"]["uri"] == str(four_steps.raw)


def test_contexts_are_kfps_pipeline_and_run_and_the_run_ran_the_compiled_version(
    four_steps: Ran, record: tuple[MlmdStore, RunRecord]
) -> None:
    from lineage.ingest.kfp_local.load import compile_pipeline

    store, run = record
    run_id = four_steps.summary["run_id"]
    ctx, *parents = run.contexts
    assert (ctx.type, ctx.name, ctx.id) == ("system.PipelineRun", run_id, f"run:{run_id}")
    assert ctx.properties["namespace"] == "local"
    assert ctx.properties["pipeline_root"] == str(four_steps.root / run_id)
    by_type = {p.type: p for p in parents}
    assert set(by_type) == {"system.Pipeline", "lineage.PipelineVersion"}
    assert by_type["system.Pipeline"].name == "importer-training"
    version = compile_pipeline(REPO / "lineage/examples/importer.py", "importer_pipeline").info
    assert by_type["lineage.PipelineVersion"].id == version.id
    assert by_type["lineage.PipelineVersion"].parents == ("pipeline:importer-training",)
    counts = store.counts()
    assert (counts.contexts, counts.executions, counts.artifacts, counts.events) == (3, 5, 5, 9)


def test_executions_carry_kfps_types_names_and_properties(
    four_steps: Ran, record: tuple[MlmdStore, RunRecord]
) -> None:
    store, run = record
    run_id = four_steps.summary["run_id"]
    by_task = {e.properties["task_name"]: e for e in run.executions}
    assert set(by_task) == {"", "importer", "prepare-dataset", "train-model", "evaluate-model"}
    root = by_task[""]
    assert (root.type, root.name, root.state) == (
        "system.DAGExecution",
        f"run/{run_id}",
        "COMPLETE",
    )
    inputs = root.properties["inputs"]
    assert isinstance(inputs, dict)
    assert inputs["data_uri"] == str(four_steps.raw)
    assert inputs["epochs"] == 5
    assert "parent_dag_id" not in root.properties
    (root_row,) = store.mlmd.get_executions_by_external_ids([root.id])
    assert by_task["importer"].type == "system.ImporterExecution"
    for name in ("importer", "prepare-dataset", "train-model", "evaluate-model"):
        ex = by_task[name]
        assert ex.id == f"task:{run_id}/{name}"
        assert ex.state == "COMPLETE"
        assert ex.properties["display_name"] == name
        assert ex.properties["parent_dag_id"] == root_row.id
        assert ex.properties["parent_task"] == root.id
        if name == "importer":
            continue
        assert ex.type == "system.ContainerExecution"
        assert ex.properties["image"] == "python:3.11-slim"
        assert ex.properties["namespace"] == "local"
        assert str(ex.properties["pod_name"]).endswith(f"{run_id}/{name}")
        assert isinstance(ex.properties["inputs"], dict)
        assert isinstance(ex.properties["outputs"], dict)
    assert by_task["train-model"].properties["inputs"] == {"epochs": 5, "learning_rate": 0.5}
    outputs = by_task["train-model"].properties["outputs"]
    assert isinstance(outputs, dict)
    loss = outputs["Output"]
    assert isinstance(loss, float) and loss > 0


def test_artifacts_have_kfps_types_metadata_and_the_sha256_of_their_files(
    four_steps: Ran, record: tuple[MlmdStore, RunRecord]
) -> None:
    _, run = record
    run_root = four_steps.root / four_steps.summary["run_id"]
    types = sorted(a.type for a in run.artifacts)
    assert types == sorted(
        [
            "system.Dataset",
            "system.Dataset",
            "system.Model",
            "system.Metrics",
            "system.ClassificationMetrics",
        ]
    )
    for art in run.artifacts:
        assert art.id == f"artifact:{art.uri}"
        assert art.properties["digest"] == file_digest(art.uri), art.uri
        if art.uri == str(four_steps.raw):  # imported: KFP's importer sets no display_name
            assert "display_name" not in art.properties
            assert art.properties["source"] == "outside the pipeline"
            continue
        assert Path(art.uri).parent.parent == run_root
        assert art.properties["display_name"] == Path(art.uri).name  # the output key
    metrics = next(a for a in run.artifacts if a.type == "system.Metrics")
    written = json.loads(Path(metrics.uri).read_text())
    assert metrics.properties["accuracy"] == written["accuracy"]
    model = next(a for a in run.artifacts if a.type == "system.Model")
    assert model.properties["framework"] == "pure-python"


def test_events_are_input_and_output_with_one_step_key_paths(
    four_steps: Ran, record: tuple[MlmdStore, RunRecord]
) -> None:
    _, run = record
    run_id = four_steps.summary["run_id"]
    uris = {a.id: a.uri for a in run.artifacts}
    task = {e.id: e.properties["task_name"] for e in run.executions}
    seen = {(task[e.execution], e.type.value, e.path, uris[e.artifact]) for e in run.events}
    out = four_steps.root / run_id

    def at(step: str, key: str) -> str:
        return str(out / step / key)

    raw = str(four_steps.raw)
    assert seen == {
        ("importer", "OUTPUT", ("artifact",), raw),
        ("prepare-dataset", "INPUT", ("raw",), raw),
        ("prepare-dataset", "OUTPUT", ("dataset",), at("prepare-dataset", "dataset")),
        ("train-model", "INPUT", ("dataset",), at("prepare-dataset", "dataset")),
        ("train-model", "OUTPUT", ("model",), at("train-model", "model")),
        ("evaluate-model", "INPUT", ("dataset",), at("prepare-dataset", "dataset")),
        ("evaluate-model", "INPUT", ("model",), at("train-model", "model")),
        ("evaluate-model", "OUTPUT", ("metrics",), at("evaluate-model", "metrics")),
        ("evaluate-model", "OUTPUT", ("confusion",), at("evaluate-model", "confusion")),
    }


def test_a_second_run_importing_the_same_uri_reuses_the_imported_artifact(
    four_steps: Ran, tmp_path: Path
) -> None:
    """KFP's importer (reimport=False) reuses the artifact already recorded for a URI."""
    home = tmp_path / "home"
    shutil.copytree(four_steps.home, home)
    first_store = four_steps.store()
    try:
        (raw_before,) = first_store.get_artifacts([f"artifact:{four_steps.raw}"])
    finally:
        first_store.close()
    out = lineage(
        [
            "run",
            "lineage/examples/importer.py:importer_pipeline",
            f"--arg=data_uri={four_steps.raw}",
            "--arg=epochs=5",
            f"--pipeline-root={tmp_path / 'root'}",
            "--json",
        ],
        home,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    second = json.loads(out.stdout)["run_id"]
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        counts = store.counts()
        (raw_after,) = store.get_artifacts([raw_before.id])
        events = store.get_events(artifact_ids=[raw_before.id])
        runs = [store.get_run(f"run:{r}") for r in (four_steps.summary["run_id"], second)]
    finally:
        store.close()
    # One more run context; the pipeline and its version are shared; 4 new artifacts, not 5.
    assert (counts.contexts, counts.executions, counts.artifacts, counts.events) == (4, 10, 9, 18)
    assert raw_after == raw_before
    importers = {e.execution for e in events if e.type.value == "OUTPUT"}
    assert importers == {f"task:{r.contexts[0].name}/importer" for r in runs}
    assert all(raw_before.id in {a.id for a in r.artifacts} for r in runs)


# --- recording again, determinism ------------------------------------------------------


@pytest.fixture(scope="module")
def training_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any], Any]:
    """Two in-process runs of the training example, each recorded into one store."""
    import io

    from lineage.ingest.kfp_local.load import compile_pipeline
    from lineage.ingest.kfp_local.run import record_local_run, run_pipeline

    base = tmp_path_factory.mktemp("training")
    compiled = compile_pipeline(REPO / "lineage/examples/training.py", "training_pipeline")
    store = open_sqlite(base / "mlmd.sqlite")
    runs = []
    try:
        for _ in range(2):
            ran = run_pipeline(compiled, {"rows": 40, "epochs": 3}, base / "root", io.StringIO())
            record_local_run(store, ran, compiled.info)
            runs.append(ran)
    finally:
        store.close()
    return base, runs, compiled


def test_recording_the_same_run_again_changes_nothing(
    training_runs: tuple[Path, list[Any], Any],
) -> None:
    from lineage.ingest.kfp_local.run import record_local_run

    base, runs, compiled = training_runs
    store = open_sqlite(base / "mlmd.sqlite")
    try:
        ids = [c.id for c in store.list_contexts(page_size=100).items]
        ids += [e.id for e in store.get_run(f"run:{runs[0].run_id}").executions]
        before = (store.counts(), store.stamps(ids))
        for ran in runs:
            result = record_local_run(store, ran, compiled.info)
            assert not result.changed
        assert (store.counts(), store.stamps(ids)) == before
    finally:
        store.close()


def test_same_inputs_give_byte_identical_artifacts_and_one_pipeline_version(
    training_runs: tuple[Path, list[Any], Any],
) -> None:
    base, runs, compiled = training_runs
    store = open_sqlite(base / "mlmd.sqlite")
    try:
        records = [store.get_run(f"run:{r.run_id}") for r in runs]
        counts = store.counts()
    finally:
        store.close()
    assert runs[0].run_id != runs[1].run_id
    digests = [
        sorted((a.type, Path(a.uri).name, a.properties["digest"]) for a in rec.artifacts)
        for rec in records
    ]
    assert digests[0] == digests[1] and len(digests[0]) == 4
    assert counts.by_type["lineage.PipelineVersion"] == 1
    assert counts.by_type["system.PipelineRun"] == 2
    assert {tuple(sorted(rec.contexts[0].parents)) for rec in records} == {
        tuple(sorted(("pipeline:training", compiled.info.id)))
    }
