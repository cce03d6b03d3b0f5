"""`lineage run --snapshot-inputs`: what each task read is a restorable snapshot in the lineage."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lineage.model import EventType, LineageType
from lineage.store.connect import open_sqlite

LINEAGE = Path(sys.executable).parent / "lineage"
REPO = Path(__file__).resolve().parents[2]


def lineage(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return subprocess.run(
        [str(LINEAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("snap-run")
    out = lineage(
        [
            "run",
            "lineage/examples/training.py:training_pipeline",
            "--arg",
            "rows=50",
            "--arg",
            "epochs=3",
            "--pipeline-root",
            str(base / "root"),
            "--snapshot-inputs",
            "--json",
        ],
        base / "home",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return base / "home", json.loads(out.stdout)


def test_every_input_artifact_is_snapshotted_and_linked(
    ran: tuple[Path, dict[str, Any]],
) -> None:
    home, summary = ran
    store = open_sqlite(home / "mlmd.sqlite")
    record = store.get_run(f"run:{summary['run_id']}")
    inputs = {
        e.artifact
        for e in record.events
        if e.type == EventType.INPUT and not e.execution.startswith("snapshotting:")
    }
    snapshots = [a for a in record.artifacts if a.type == LineageType.SNAPSHOT]
    snapshotted = {e.artifact for e in record.events if e.path == ("source",)}
    assert inputs  # the trainer and the evaluator read artifacts
    assert snapshotted == inputs
    assert {s["snapshot"] for s in summary["snapshots"]} == {a.id for a in snapshots}
    executions = {e.id: e for e in record.executions}
    for event in record.events:
        if event.path == ("snapshot",):
            assert executions[event.execution].type == LineageType.SNAPSHOT_EXECUTION


def test_a_snapshot_restores_the_bytes_the_task_read(
    ran: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    home, summary = ran
    store = open_sqlite(home / "mlmd.sqlite")
    taken = summary["snapshots"]
    assert isinstance(taken, list)
    for entry in taken:
        source = store.get_artifacts([entry["artifact"]])[0]
        dest = tmp_path / entry["snapshot"].replace(":", "_")
        out = lineage(["snapshot", "restore", entry["snapshot"], str(dest)], home)
        assert out.returncode == 0, out.stderr
        restored = list(dest.rglob("*"))
        files = [p for p in restored if p.is_file()]
        assert len(files) == 1
        original = Path(source.uri).read_bytes()
        assert hashlib.sha256(files[0].read_bytes()).digest() == hashlib.sha256(original).digest()
        verify = lineage(["snapshot", "verify", entry["snapshot"], source.uri], home)
        assert verify.returncode == 0, verify.stderr
