"""`lineage run` when things go wrong: a failing task, what kfp.local cannot run, bad targets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.store.connect import open_sqlite
from tests.ingest.test_run import REPO, lineage

PIPELINES = "tests/pipelines/local.py"


def test_a_failing_task_is_recorded_failed_with_its_error_and_what_ran_is_kept(
    tmp_path: Path,
) -> None:
    home, root = tmp_path / "home", tmp_path / "root"
    out = lineage(["run", f"{PIPELINES}:failing", "--pipeline-root", str(root), "--json"], home)
    assert out.returncode != 0
    summary = json.loads(out.stdout)
    run_id = summary["run_id"]
    assert summary["state"] == "FAILED"
    assert "failed" in out.stderr and run_id in out.stderr
    states = {t["name"]: t["state"] for t in summary["tasks"]}
    # The nested pipeline ran first; `never` waited on the failed task and never started.
    assert states == {"prepare": "COMPLETE", "prepare/write-rows": "COMPLETE", "explode": "FAILED"}

    store = open_sqlite(home / "mlmd.sqlite")
    try:
        run = store.get_run(f"run:{run_id}")
        (dag_row,) = store.mlmd.get_executions_by_external_ids([f"task:{run_id}/prepare"])
    finally:
        store.close()
    by_path = {e.id.split("/", 1)[1]: e for e in run.executions}
    assert set(by_path) == {"", "prepare", "prepare/write-rows", "explode"}
    root_dag, nested, wrote, exploded = (
        by_path[p] for p in ("", "prepare", "prepare/write-rows", "explode")
    )
    assert (root_dag.type, root_dag.state) == ("system.DAGExecution", "FAILED")
    assert "explode" in str(root_dag.properties["error"])
    assert (nested.type, nested.state) == ("system.DAGExecution", "COMPLETE")
    assert nested.properties["inputs"] == {"rows": 5}
    assert wrote.properties["parent_task"] == nested.id
    assert wrote.properties["parent_dag_id"] == dag_row.id
    assert (exploded.type, exploded.state) == ("system.ContainerExecution", "FAILED")
    assert "boom: 5 rows is more than 3" in str(exploded.properties["error"])
    assert "outputs" not in exploded.properties
    (data,) = run.artifacts
    assert (
        data.properties["digest"]
        == "sha256:" + hashlib.sha256(Path(data.uri).read_bytes()).hexdigest()
    )
    keys = {(e.execution.split("/", 1)[1], e.type.value, e.path) for e in run.events}
    assert keys == {
        ("prepare/write-rows", "OUTPUT", ("data",)),
        ("explode", "INPUT", ("data",)),
    }


def test_a_container_component_fails_as_kfp_local_refuses_it(tmp_path: Path) -> None:
    out = lineage(["run", f"{PIPELINES}:container_local", "--json"], tmp_path / "home")
    assert out.returncode != 0
    summary = json.loads(out.stdout)
    (shell,) = [t for t in summary["tasks"] if t["name"] == "shell"]
    assert shell["state"] == "FAILED"
    assert "only supports running Lightweight Python Components" in shell["error"]
    assert [t["state"] for t in summary["tasks"] if t["name"] == "write-rows"] == ["COMPLETE"]


@pytest.mark.parametrize(
    ("target", "args", "message"),
    [
        (f"{PIPELINES}:looping", [], "uses dsl.ParallelFor, which kfp.local cannot run"),
        (f"{PIPELINES}:nothing_here", [], "has no attribute 'nothing_here'"),
        (f"{PIPELINES}:write_rows", [], "not a pipeline"),
        ("tests/pipelines/missing.py:p", [], "no such file"),
        ("no-colon.py", [], "expected FILE.py:PIPELINE"),
        (f"{PIPELINES}:failing", ["--arg", "rows=many"], "rows='many': not a NUMBER_INTEGER"),
        (f"{PIPELINES}:failing", ["--arg", "nope=1"], "the pipeline has no such input"),
    ],
)
def test_what_cannot_run_is_refused_before_anything_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    root = tmp_path / "root"
    out = CliRunner().invoke(app, ["run", target, *args, "--pipeline-root", str(root)])
    assert out.exit_code == 4, out.output
    assert message in out.stderr
    assert not root.exists() or not any(root.iterdir())
    assert not (tmp_path / "home" / "mlmd.sqlite").exists()
