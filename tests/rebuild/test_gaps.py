"""Hermeticity gaps, one kind at a time, on runs recorded as a KFP cluster records them;
and what `lineage rebuild plan` does with them (exit codes, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.model import Context, Event, EventType, Execution, ExecutionState, KfpType, RunRecord
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.service import LineageService
from lineage.rebuild.document import load_plan
from lineage.rebuild.gaps import GapKind
from lineage.rebuild.planner import Plan, build_plan
from lineage.snapshots.blobs import LocalBlobStore
from lineage.snapshots.lineage import snapshot_parts
from lineage.snapshots.ops import create
from lineage.store.mlmd import MlmdStore
from tests.rebuild.world import RAW_BYTES, World

runner = CliRunner()
POD_DIGEST = "sha256:" + "cd" * 32


def plan_of(store: MlmdStore, world: World) -> tuple[Plan, dict[str, str]]:
    ids = world.record(store)
    return build_plan(LineageService(MlmdReader(store)), store, ids["model"]), ids


def kinds(plan: Plan) -> list[tuple[GapKind, str]]:
    return [(gap.kind, gap.subject) for gap in plan.gaps]


def test_a_kfp_run_with_a_pinned_image_and_digests_has_no_gap(store: MlmdStore) -> None:
    plan, ids = plan_of(store, World())
    assert plan.gaps == ()
    assert plan.document["gaps"] == []
    (run,) = plan.document["runs"]
    assert run["runner"] == "kfp"
    train = next(t for t in run["tasks"] if t["id"] == ids["train"])
    assert train["image"]["digest"] == World().image.partition("@")[2]
    assert train["image"]["how"] == "pinned"


@pytest.mark.parametrize(
    ("world", "kind", "subject"),
    [
        (World(image="registry.example/team/train:v1"), GapKind.IMAGE_BY_TAG, "train"),
        (World(runner="kfp.local.SubprocessRunner"), GapKind.RUNNER, "run"),
        (
            World(command=["sh", "-c", "python3 -m pip install 'scikit-learn==1.5.0' && run"]),
            GapKind.INSTALLS,
            "train",
        ),
        (
            World(env=[{"name": "LINEAGE_NON_DETERMINISTIC", "value": "1"}]),
            GapKind.NON_DETERMINISTIC,
            "train",
        ),
        (
            World(pod_annotations={"lineage.kfp/non-deterministic": "true"}),
            GapKind.NON_DETERMINISTIC,
            "train",
        ),
        (World(raw_digest=False), GapKind.INPUT, "raw"),
        (World(model_digest=False), GapKind.OUTPUT, "model"),
        (World(with_spec=False), GapKind.NO_SPEC, "run"),
    ],
    ids=lambda value: value.value if isinstance(value, GapKind) else None,
)
def test_each_gap_is_found_alone_with_its_subject(
    store: MlmdStore, world: World, kind: GapKind, subject: str
) -> None:
    plan, ids = plan_of(store, world)
    assert kinds(plan) == [(kind, ids[subject])]
    assert plan.document["gaps"] == [g.as_dict() for g in plan.gaps]
    assert all(g.reason for g in plan.gaps)


def test_the_install_gap_names_what_is_installed(store: MlmdStore) -> None:
    command = ["sh", "-c", "python3 -m pip install --quiet 'scikit-learn==1.5.0' && run"]
    plan, _ = plan_of(store, World(command=command))
    assert "pip install scikit-learn==1.5.0" in plan.gaps[0].reason


def test_an_unset_non_deterministic_marker_is_no_gap(store: MlmdStore) -> None:
    plan, _ = plan_of(store, World(env=[{"name": "LINEAGE_NON_DETERMINISTIC", "value": "0"}]))
    assert plan.gaps == ()


def test_a_tag_whose_digest_a_pod_reported_is_no_gap(store: MlmdStore) -> None:
    world = World(
        image="registry.example/team/train:v1",
        pod_image=f"registry.example/team/train@{POD_DIGEST}",
    )
    plan, ids = plan_of(store, world)
    assert plan.gaps == ()
    (image,) = plan.document["images"]
    assert (image["digest"], image["how"], image["reference"]) == (
        POD_DIGEST,
        "pod",
        "registry.example/team/train:v1",
    )
    assert image["tasks"] == [ids["train"]]


def test_plan_with_gaps_exits_10_and_writes_nothing(store: MlmdStore, tmp_path: Path) -> None:
    ids = World(runner="kfp.local.SubprocessRunner", model_digest=False).record(store)
    out = tmp_path / "plan.json"
    env = {"LINEAGE_HOME": str(tmp_path)}
    refused = runner.invoke(app, ["rebuild", "plan", ids["model"], "-o", str(out)], env=env)
    assert refused.exit_code == 10
    assert not out.exists()
    assert f"gap runner-ignores-images {ids['run']}" in refused.output
    assert f"gap output-without-digest {ids['model']}" in refused.output
    assert "nothing written" in refused.output
    allowed = runner.invoke(
        app, ["rebuild", "plan", ids["model"], "-o", str(out), "--allow-gaps"], env=env
    )
    assert allowed.exit_code == 0, allowed.output
    written = load_plan(out)
    assert [g["kind"] for g in written["gaps"]] == [
        "runner-ignores-images",
        "output-without-digest",
    ]


def test_a_hermetic_plan_exits_0_and_json_is_the_plan(store: MlmdStore, tmp_path: Path) -> None:
    ids = World().record(store)
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        ["rebuild", "plan", ids["model"], "-o", str(out), "--json"],
        env={"LINEAGE_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == load_plan(out)


@pytest.mark.parametrize(
    ("args", "code", "names"),
    [
        (["rebuild", "plan", "artifact:s3://nowhere"], 5, "artifact:s3://nowhere"),
        (["rebuild", "check", "artifact:s3://nowhere"], 5, "artifact:s3://nowhere"),
        (["rebuild", "plan", "{train}"], 4, "not an artifact"),
        (["rebuild", "plan", "{raw}"], 4, "no recorded task wrote it"),
        (["rebuild", "plan", "{model}", "--tolerance", "accuracy"], 4, "NAME=VALUE"),
        (["rebuild", "plan", "{model}", "--tolerance", "accuracy=-1"], 4, ">= 0"),
        (["rebuild", "plan", "{model}", "--tolerance", "recall=0.1"], 4, "recall"),
        (["rebuild", "check", "{model}", "--env", "elsewhere"], 5, "elsewhere"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    store: MlmdStore, tmp_path: Path, args: list[str], code: int, names: str
) -> None:
    ids = World().record(store)
    argv = [arg.format(**ids) for arg in args]
    result = runner.invoke(app, argv, env={"LINEAGE_HOME": str(tmp_path)})
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_model_a_cached_task_also_lists_is_planned_from_the_task_that_ran(
    store: MlmdStore,
) -> None:
    ids = World().record(store)
    (made,) = store.get_artifacts([ids["model"]])
    again = World(run="kfp-run-2").ids()
    cached = Execution(again["train"], KfpType.CONTAINER_EXECUTION, None, ExecutionState.CACHED)
    run_two = Context(again["run"], KfpType.PIPELINE_RUN, "kfp-run-2", {}, (ids["spec"],))
    store.put_run(
        RunRecord(
            (run_two,),
            (cached,),
            (made,),
            (Event(cached.id, made.id, EventType.OUTPUT, ("model",)),),
        )
    )
    plan = build_plan(LineageService(MlmdReader(store)), store, ids["model"])
    assert plan.document["model"]["producer"] == ids["train"]
    assert [run["id"] for run in plan.document["runs"]] == [ids["run"]]


def test_an_input_with_a_snapshot_and_no_digest_is_no_gap(store: MlmdStore, tmp_path: Path) -> None:
    ids = World(raw_digest=False).record(store)
    data = tmp_path / "lake"
    data.mkdir()
    (data / "raw.csv").write_bytes(RAW_BYTES)
    blobs = LocalBlobStore(tmp_path / "snapshots")
    (raw,) = store.get_artifacts([ids["raw"]])
    parts = snapshot_parts(raw, create(data, blobs), blobs)
    store.put_run(parts.record(raw))
    plan = build_plan(LineageService(MlmdReader(store)), store, ids["model"])
    assert plan.gaps == ()
    (item,) = plan.document["inputs"]
    assert item["digest"] is None
    assert item["snapshots"] == [
        {"id": parts.snapshot.id, "root": parts.created.manifest.root, "store": blobs.location}
    ]
