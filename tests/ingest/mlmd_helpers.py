"""Shared by the MLMD ingest tests: a KFP store with every convention, and readers of both sides."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lineage.ingest.kfp_mlmd.importer import KfpMlmdIngest
from lineage.ingest.kfp_mlmd.source_store import open_sqlite_source
from lineage.ingest.report import IngestReport
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.ingest.kfp_store import KfpStore, Task

RUN_A = "3a1f5c9e-0d6b-4e2a-9f00-00000000000a"
RUN_B = "3a1f5c9e-0d6b-4e2a-9f00-00000000000b"
LINEAGE = [sys.executable, "-m", "lineage.cli"]


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A scratch directory in memory when the machine has one: MLMD commits every write
    with an fsync, which on a disk costs tens of milliseconds and nothing the tests need."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="lineage-test-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Acceptance:
    """Handles to what ``acceptance_store`` wrote, for the assertions."""

    kfp: KfpStore
    loop_trains: list[Task]
    original: Task  # run A's first loop iteration's train: run B's cache hit reuses it
    cached: Task
    skipped: Task
    importer_a: Task
    importer_b: Task
    nested_eval: Task


def acceptance_store(path: Path) -> Acceptance:
    """Run A: an importer, a ParallelFor of 3, a condition whose other branch is not
    taken, and a nested pipeline. Run B (same pipeline): the importer reuses the dataset
    and ``train`` is a cache hit on run A's first iteration."""
    kfp = KfpStore.sqlite(path)
    a = kfp.run(RUN_A, pipeline="acceptance")
    data = a.importer("importer", "gs://datasets/iris.csv")
    loop = a.dag("for-loop-2", iteration_count=3, inputs={"pipelinechannel--rates": [1, 2, 3]})
    trains = []
    for i in range(3):
        iteration = a.dag("for-loop-2", parent=loop, iteration_index=i)
        trains.append(
            a.container(
                "train",
                parent=iteration,
                inputs={"learning_rate": 0.1 * (i + 1)},
                input_artifacts={"dataset": data.outputs["artifact"]},
                output_artifacts={"model": "system.Model"},
                metadata={"model": {"framework": "sklearn"}},
                cache_fingerprint=f"fp-train-{i}",
            )
        )
    branch = a.dag("condition-3", inputs={"pipelinechannel--accuracy": 0.93})
    a.container("deploy", parent=branch, input_artifacts={"model": trains[0].outputs["model"]})
    skipped = a.not_triggered("condition-4")
    sub = a.dag("evaluate-pipeline")
    nested = a.container(
        "evaluate",
        parent=sub,
        input_artifacts={"model": trains[0].outputs["model"]},
        output_artifacts={"metrics": "system.Metrics"},
        metadata={"metrics": {"accuracy": 0.93}},
        outputs={"accuracy": 0.93},
    )
    a.finish()
    b = kfp.run(RUN_B, pipeline="acceptance")
    data_b = b.importer("importer", "gs://datasets/iris.csv")
    cached = b.cached(
        "train",
        trains[0],
        input_artifacts={"dataset": data_b.outputs["artifact"]},
        cache_fingerprint="fp-train-0",
    )
    b.container("evaluate", input_artifacts={"model": cached.outputs["model"]})
    b.finish()
    return Acceptance(kfp, trains, trains[0], cached, skipped, data, data_b, nested)


def ingest(source: Path, store: MlmdStore, **options: object) -> IngestReport:
    job = KfpMlmdIngest(open_sqlite_source(source), store, **options)  # type: ignore[arg-type]
    return job.run()


def lineage_cli(
    args: list[str], home: Path, *, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return subprocess.run(
        [*LINEAGE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Invoked:
    returncode: int
    stdout: str
    stderr: str


def invoke(args: list[str], home: Path) -> Invoked:
    """The CLI in this process (no interpreter start-up): for the many error paths."""
    from typer.testing import CliRunner

    from lineage.cli.main import app

    env = {k: None for k in os.environ if k.startswith("LINEAGE_")}
    result = CliRunner().invoke(app, args, env={**env, "LINEAGE_HOME": str(home)})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Invoked(result.exit_code, result.stdout, result.stderr)


def source_counts(path: Path) -> dict[str, int]:
    """Nodes and events in a source MLMD file, straight from its tables."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("Context", "Execution", "Artifact", "Event")
        }
    finally:
        conn.close()


def store_ids(path: Path) -> dict[str, list[str]]:
    """Every external id in our store, per table (sorted, duplicates kept)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: sorted(str(r[0]) for r in conn.execute(f"SELECT external_id FROM {table}"))
            for table in ("Context", "Execution", "Artifact")
        }
    finally:
        conn.close()


def open_home(home: Path) -> MlmdStore:
    return open_sqlite(home / "mlmd.sqlite")
