"""`lineage rebuild plan` on runs `lineage run` recorded: the plan holds what the store holds.

Two real kfp.local runs: the first imports a CSV (its inputs snapshotted); the second
imports the first run's prepared data, so its model's plan is a chain of two runs.
Every expected value is read from the store or the run's own report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from lineage.cli.main import app
from lineage.model import EventType, canonical_json, sha256_hex
from lineage.rebuild.document import PlanTamperedError, check_sealed, load_plan, plan_id
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore

REPO = Path(__file__).resolve().parents[2]
LINEAGE = Path(sys.executable).parent / "lineage"
PIPELINE = "tests/rebuild/pipelines.py:imported"


def lineage(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return subprocess.run(
        [str(LINEAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


@dataclass
class Recorded:
    home: Path
    first: dict[str, Any]  # `lineage run --json` of each run
    second: dict[str, Any]

    def store(self) -> MlmdStore:
        return open_sqlite(self.home / "mlmd.sqlite")

    def plan(self, model: str, *extra: str) -> dict[str, Any]:
        out = self.cli("rebuild", "plan", model, "--allow-gaps", "--json", *extra)
        assert out.exit_code == 0, out.output[-2000:]
        return dict(json.loads(out.stdout))

    def cli(self, *args: str) -> Result:
        """A command in this process (the same entry point as the script, faster)."""
        return CliRunner().invoke(app, list(args), env={"LINEAGE_HOME": str(self.home)})


def output(summary: dict[str, Any], task: str, name: str) -> dict[str, Any]:
    found = next(t for t in summary["tasks"] if t["name"] == task)
    return dict(found["outputs"][name])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    base = tmp_path_factory.mktemp("rebuild-plan")
    raw = base / "lake" / "raw.csv"
    raw.parent.mkdir()
    raw.write_text("".join(f"{i},{i * i}\n" for i in range(6)))
    home, root = base / "home", base / "root"
    runs: list[dict[str, Any]] = []
    for data_uri in (str(raw), None):
        if data_uri is None:  # the second run imports what the first one prepared
            data_uri = output(runs[0], "prepare", "data")["uri"]
        argv = ["run", PIPELINE, "--arg", f"data_uri={data_uri}", "--pipeline-root", str(root)]
        out = lineage([*argv, "--snapshot-inputs", "--json"], home)
        assert out.returncode == 0, out.stderr[-3000:]
        runs.append(json.loads(out.stdout))
    return Recorded(home, runs[0], runs[1])


def test_the_plan_holds_the_spec_parameters_and_runner_the_store_recorded(
    recorded: Recorded,
) -> None:
    model = output(recorded.first, "fit", "model")
    plan = recorded.plan(model["id"])
    (run,) = plan["runs"]
    store = recorded.store()
    try:
        stored = store.get_run(f"run:{recorded.first['run_id']}")
    finally:
        store.close()
    context, *parents = stored.contexts
    version = next(p for p in parents if p.type == "lineage.PipelineVersion")
    spec = json.loads(str(version.properties["pipeline_spec"]))
    assert run["id"] == context.id
    assert run["runner"] == context.properties["runner"]
    assert run["environment"]["pipeline_root"] == context.properties["pipeline_root"]
    assert run["pipeline_spec"]["version"] == version.id
    assert run["pipeline_spec"]["spec"] == spec
    assert run["pipeline_spec"]["digest"] == f"sha256:{sha256_hex(canonical_json(spec))}"
    root = next(e for e in stored.executions if e.properties.get("task_name") == "")
    assert run["parameters"] == root.properties["inputs"]
    assert plan["model"]["digest"] == model["digest"]
    sources = version.properties["source_digests"]
    assert isinstance(sources, dict)
    by_path = {t["path"]: t for t in run["tasks"]}
    for task in stored.executions:
        if task.id == root.id or task.type == "lineage.SnapshotExecution":
            continue
        entry = by_path[str(task.properties["task_name"])]
        assert entry["id"] == task.id
        assert entry["parameters"] == task.properties.get("inputs", {})
        assert entry["source_digest"] == sources.get(entry["path"])
        if task.type == "system.ContainerExecution":
            assert entry["image"]["reference"] == task.properties["image"]
            assert entry["image"]["digest"] is None


def test_every_output_of_every_task_has_the_stored_digest_in_topological_order(
    recorded: Recorded,
) -> None:
    plan = recorded.plan(output(recorded.first, "fit", "model")["id"])
    (run,) = plan["runs"]
    store = recorded.store()
    try:
        stored = store.get_run(run["id"])
    finally:
        store.close()
    digests = {a.id: a.properties.get("digest") for a in stored.artifacts}
    tasks = {e.id for e in stored.executions if e.type != "lineage.SnapshotExecution"}
    expected = {
        (e.execution, e.key, e.artifact, digests[e.artifact])
        for e in stored.events
        if e.type == EventType.OUTPUT and e.execution in tasks
    }
    assert all(digest for *_, digest in expected)
    planned = {
        (t["id"], o["name"], o["artifact"], o["digest"]) for t in run["tasks"] for o in t["outputs"]
    }
    assert planned == expected
    seen: set[str] = set()
    for task in run["tasks"]:
        assert {i["artifact"] for i in task["inputs"]} <= seen, task["path"]
        seen.update(o["artifact"] for o in task["outputs"])
    assert [t["path"] for t in run["tasks"]] == ["importer", "prepare", "fit", "score"]


def test_inputs_carry_the_importer_uri_digest_and_snapshot(recorded: Recorded) -> None:
    plan = recorded.plan(output(recorded.first, "fit", "model")["id"])
    imported = output(recorded.first, "importer", "artifact")
    (item,) = plan["inputs"]
    assert (item["artifact"], item["uri"], item["digest"]) == (
        imported["id"],
        imported["uri"],
        imported["digest"],
    )
    assert item["importer"] is True
    taken = [s["snapshot"] for s in recorded.first["snapshots"] if s["artifact"] == imported["id"]]
    assert [s["id"] for s in item["snapshots"]] == taken and taken


def test_a_local_run_has_the_runner_and_tag_gaps_and_nothing_else(recorded: Recorded) -> None:
    plan = recorded.plan(output(recorded.first, "fit", "model")["id"])
    (run,) = plan["runs"]
    containers = [t["id"] for t in run["tasks"] if t["type"] == "system.ContainerExecution"]
    assert [(g["kind"], g["subject"]) for g in plan["gaps"]] == [
        ("runner-ignores-images", run["id"]),
        *(("image-by-tag", task) for task in containers),
    ]
    refused = recorded.cli("rebuild", "plan", plan["model"]["artifact"])
    assert refused.exit_code == 10
    assert refused.stdout == ""


def test_a_model_made_from_another_runs_output_plans_both_runs(recorded: Recorded) -> None:
    plan = recorded.plan(output(recorded.second, "fit", "model")["id"])
    first, second = f"run:{recorded.first['run_id']}", f"run:{recorded.second['run_id']}"
    assert [r["id"] for r in plan["runs"]] == [first, second]
    handed_over = output(recorded.first, "prepare", "data")
    assert output(recorded.second, "importer", "artifact")["id"] == handed_over["id"]
    # What the first run made is its output, not an input of the plan.
    assert [i["artifact"] for i in plan["inputs"]] == [
        output(recorded.first, "importer", "artifact")["id"]
    ]
    first_outputs = {
        o["artifact"]: o["digest"] for t in plan["runs"][0]["tasks"] for o in t["outputs"]
    }
    assert first_outputs[handed_over["id"]] == handed_over["digest"]


def test_the_plan_is_content_addressed(recorded: Recorded, tmp_path: Path) -> None:
    model = output(recorded.first, "fit", "model")["id"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    for path in (one, two):
        out = recorded.cli("rebuild", "plan", model, "--allow-gaps", "-o", str(path))
        assert out.exit_code == 0, out.output
    assert one.read_bytes() == two.read_bytes()
    plan = load_plan(one)
    body = {k: v for k, v in plan.items() if k != "id"}
    assert plan["id"] == f"plan:sha256:{sha256_hex(canonical_json(body))}"
    assert one.read_bytes() == canonical_json(plan) + b"\n"
    for field in sorted(body):
        changed = {**plan, field: {"changed": True}}
        assert plan_id(changed) != plan["id"], field
        with pytest.raises(PlanTamperedError, match="does not match its id"):
            check_sealed(changed, "edited.json")
    deep = json.loads(json.dumps(plan))
    deep["runs"][0]["tasks"][-1]["outputs"][0]["digest"] = "sha256:" + "0" * 64
    with pytest.raises(PlanTamperedError):
        check_sealed(deep, "edited.json")


def test_tolerances_are_part_of_the_plan(recorded: Recorded) -> None:
    model = output(recorded.first, "fit", "model")["id"]
    plain = recorded.plan(model)
    tolerant = recorded.plan(model, "--tolerance", "accuracy=1e-9")
    assert tolerant["tolerances"] == {"accuracy": 1e-9}
    assert plain["tolerances"] == {}
    assert tolerant["id"] != plain["id"]
    metrics = output(recorded.first, "score", "metrics")
    score = next(t for t in tolerant["runs"][0]["tasks"] if t["path"] == "score")
    (planned,) = score["outputs"]
    assert planned["artifact"] == metrics["id"] and "accuracy" in planned["metrics"]
