"""One product store holding every kind of data the query book applies to, built the way
a user builds it: KFP runs recorded by ``lineage run`` (the first with
``--snapshot-inputs``), a TFX store ingested with ``lineage ingest mlmd --sqlite``, and a
standalone ``lineage snapshot create``. The tasks of the KFP runs are linked to one image
digest as ``lineage images resolve --all`` links them (the registry lookup is left out:
its digest is a fixed value here, as in tests/api/world.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage import model
from lineage.images.lineage import image_record
from lineage.model import EventType, ImageSource, KfpType, LineageType
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.api.world import image
from tests.ingest.tfx_store import TfxStore, penguin_run, uri_of

LINEAGE = Path(sys.executable).parent / "lineage"
REPO = Path(__file__).resolve().parents[2]
TRAINING = "lineage/examples/training.py:training_pipeline"
IMAGE = "sha256:" + model.sha256_hex(b"python:3.11-slim as the mixed store's tasks ran it")
TFX_PIPELINE = "penguin-tfma"


def lineage(args: list[str], home: Path) -> dict[str, Any]:
    """Runs the CLI as a user would, and returns its ``--json`` answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    out = subprocess.run(
        [str(LINEAGE), *args, "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    answer: dict[str, Any] = json.loads(out.stdout)
    return answer


@dataclass(frozen=True)
class Mixed:
    home: Path
    kfp_runs: list[str]  # the first ran with --snapshot-inputs
    kfp_models: list[str]
    kfp_datasets: list[str]
    input_snapshots: list[str]  # taken by --snapshot-inputs
    dataset_snapshot: str  # the one of the first run's dataset
    standalone_snapshot: str
    tfx_runs: list[str]
    tfx_models: list[str]  # the Trainer's Model of each run
    tfx_pushed: list[str]  # the Pusher's PushedModel of each run
    tfx_examples: list[str]  # CsvExampleGen's Examples of each run


def _one(store: MlmdStore, run: str, type_name: str, producer: str) -> str:
    record = store.get_run(run)
    made = {
        e.artifact
        for e in record.events
        if e.type is EventType.OUTPUT and e.execution.endswith("/" + producer)
    }
    [found] = [a.id for a in record.artifacts if a.type == type_name and a.id in made]
    return found


def _snapshot_of(store: MlmdStore, run: str, artifact: str) -> str:
    """The snapshot a snapshotting execution of ``run`` took of ``artifact``."""
    events = store.get_run(run).events
    takers = {e.execution for e in events if e.artifact == artifact and e.path == ("source",)}
    [taken] = {e.artifact for e in events if e.execution in takers and e.path == ("snapshot",)}
    return taken


def _link_images(store: MlmdStore, run: str) -> None:
    for task in store.get_run(run).executions:
        reference = task.properties.get("image")
        if isinstance(reference, str) and reference:
            store.put_run(image_record(task, image(reference, IMAGE), ImageSource.PINNED))


def build_mixed(base: Path) -> Mixed:
    home = base / "home"
    root = str(base / "root")
    first = lineage(
        [
            *("run", TRAINING, "--arg", "rows=40", "--arg", "epochs=3"),
            *("--pipeline-root", root, "--snapshot-inputs"),
        ],
        home,
    )
    second = lineage(
        ["run", TRAINING, "--arg", "rows=40", "--arg", "epochs=5", "--pipeline-root", root],
        home,
    )
    source = TfxStore.sqlite(base / "tfx.sqlite")
    rows = [penguin_run(source, "2024-05-01T10:00:00")]
    rows.append(
        penguin_run(source, "2024-05-02T10:00:00", num_steps=200, baseline=rows[0]["model"])
    )
    ingested = lineage(["ingest", "mlmd", "--sqlite", str(base / "tfx.sqlite")], home)
    assert ingested["failed"] == 0, ingested
    data = base / "raw"
    data.mkdir()
    (data / "penguins.csv").write_text("species,island\nAdelie,Torgersen\n")
    standalone = lineage(["snapshot", "create", str(data), "--name", "raw-penguins"], home)

    kfp_runs = [f"run:{first['run_id']}", f"run:{second['run_id']}"]
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        for run in kfp_runs:
            _link_images(store, run)
        input_snapshots = sorted(
            a.id for a in store.get_run(kfp_runs[0]).artifacts if a.type == LineageType.SNAPSHOT
        )
        datasets = [_one(store, r, KfpType.DATASET, "make-dataset") for r in kfp_runs]
        mixed = Mixed(
            home=home,
            kfp_runs=kfp_runs,
            kfp_models=[_one(store, r, KfpType.MODEL, "train-model") for r in kfp_runs],
            kfp_datasets=datasets,
            input_snapshots=input_snapshots,
            dataset_snapshot=_snapshot_of(store, kfp_runs[0], datasets[0]),
            standalone_snapshot=str(standalone["id"]),
            tfx_runs=["run:2024-05-01T10:00:00", "run:2024-05-02T10:00:00"],
            tfx_models=["artifact:" + uri_of(source, r["model"]) for r in rows],
            tfx_pushed=["artifact:" + uri_of(source, r["pushed_model"]) for r in rows],
            tfx_examples=["artifact:" + uri_of(source, r["examples"]) for r in rows],
        )
    finally:
        store.close()
    assert input_snapshots, "--snapshot-inputs recorded no snapshot"
    return mixed
