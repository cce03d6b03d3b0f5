"""`lineage rebuild check`: the scorecard, against two environments on one machine, each with
its own docker-registry and store; images pushed with skopeo, inputs put by content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.rebuild.record import record_rebuild
from lineage.rebuild.verdict import OutputVerdict, RebuildResult, Verdict
from lineage.snapshots.blobs import LocalBlobStore, blob_key
from lineage.snapshots.lineage import snapshot_parts
from lineage.snapshots.ops import create
from lineage.store.mlmd import MlmdStore
from tests.conftest import require
from tests.rebuild.world import MODEL_BYTES, RAW_BYTES, World, digest
from tests.services import RegistryService, build_oci_layout, layout_digest

runner = CliRunner()


@pytest.fixture(scope="module")
def second_registry() -> Iterator[RegistryService]:
    service = RegistryService()
    try:
        yield require("registry", service)
    finally:
        service.close()


@pytest.fixture(scope="module")
def image(registry_service: RegistryService, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An image in the first environment's registry, by digest."""
    layout = build_oci_layout(tmp_path_factory.mktemp("image") / "train", {"app/train.py": b"1"})
    registry_service.push(layout, "team/train:v1")
    return f"{registry_service.address}/team/train@{layout_digest(layout)}"


def check(home: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = runner.invoke(
        app, ["rebuild", "check", *args, "--json"], env={"LINEAGE_HOME": str(home), **env}
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.fixture
def places(
    tmp_path: Path, registry_service: RegistryService, second_registry: RegistryService
) -> dict[str, str]:
    """Environment a holds the image and the raw input; b holds nothing."""
    store_a, store_b = tmp_path / "store-a", tmp_path / "store-b"
    LocalBlobStore(store_a).put_bytes(
        blob_key(digest(RAW_BYTES).removeprefix("sha256:")), RAW_BYTES
    )
    store_b.mkdir()
    return {
        "LINEAGE_INSECURE_REGISTRIES": f"{registry_service.address},{second_registry.address}",
        "LINEAGE_ENVIRONMENTS__A__REGISTRY": registry_service.address,
        "LINEAGE_ENVIRONMENTS__A__STORE": str(store_a),
        "LINEAGE_ENVIRONMENTS__A__PIPELINE_ROOT": str(tmp_path / "root-a"),
        "LINEAGE_ENVIRONMENTS__B__REGISTRY": f"{second_registry.address}/mirror",
        "LINEAGE_ENVIRONMENTS__B__STORE": str(store_b),
    }


def test_scorecard_shares_gaps_presence_and_never_rebuilt(
    store: MlmdStore, tmp_path: Path, image: str, places: dict[str, str]
) -> None:
    ids = World(image=image).record(store)
    card = check(tmp_path, places, ids["model"])
    assert card["model"] == ids["model"]
    assert card["gaps"] == [] and card["hermetic"] is True
    shares = card["pinned"]
    assert shares["images"] == {"pinned": 1, "total": 1, "share": 1.0, "by_how": {"pinned": 1}}
    for category in ("spec", "components", "inputs"):
        assert (shares[category]["pinned"], shares[category]["total"]) == (1, 1), category
    assert (shares["outputs"]["pinned"], shares["outputs"]["total"]) == (2, 2)
    a, b = card["environments"]["a"], card["environments"]["b"]
    assert [(i["target"], i["state"]) for i in a["images"]] == [(image, "present")]
    repository = image.split("/", 1)[1].split("@")[0]
    assert [i["state"] for i in b["images"]] == ["absent"]
    assert b["images"][0]["target"].startswith(
        f"{places['LINEAGE_ENVIRONMENTS__B__REGISTRY']}/{repository}@"
    )
    assert [(i["artifact"], i["state"]) for i in a["inputs"]] == [(ids["raw"], "present")]
    assert [(i["artifact"], i["state"]) for i in b["inputs"]] == [(ids["raw"], "absent")]
    assert a["pipeline_root"] == str(tmp_path / "root-a")
    assert card["last_rebuild"] is None
    assert card["last_rebuild_summary"] == "never rebuilt"
    only_b = check(tmp_path, places, ids["model"], "--env", "B")
    assert list(only_b["environments"]) == ["b"]


def test_shares_count_what_is_not_pinned(store: MlmdStore, tmp_path: Path) -> None:
    ids = World(image="registry.example/team/train:v1", raw_digest=False).record(store)
    card = check(tmp_path, {}, ids["model"])
    assert card["pinned"]["images"]["pinned"] == 0
    assert card["pinned"]["inputs"] == {"pinned": 0, "total": 1, "share": 0.0}
    assert card["pinned"]["components"]["pinned"] == 0
    assert {g["kind"] for g in card["gaps"]} == {"image-by-tag", "input-without-digest"}
    assert card["hermetic"] is False and card["environments"] == {}


def test_an_unreachable_registry_and_store_are_named(
    store: MlmdStore, tmp_path: Path, image: str
) -> None:
    ids = World(image=image).record(store)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    env = {
        "LINEAGE_INSECURE_REGISTRIES": "127.0.0.1:1",
        "LINEAGE_ENVIRONMENTS__DOWN__REGISTRY": "127.0.0.1:1",
        "LINEAGE_ENVIRONMENTS__DOWN__STORE": str(blocked),
    }
    down = check(tmp_path, env, ids["model"])["environments"]["down"]
    assert down["images"][0]["state"].startswith("unreachable:")
    assert "127.0.0.1:1" in down["images"][0]["state"]
    assert down["inputs"][0]["state"].startswith("unreachable:")
    assert str(blocked) in down["inputs"][0]["state"]


def test_the_last_recorded_rebuild_is_shown_and_caveats_make_it_not_hermetic(
    store: MlmdStore, tmp_path: Path
) -> None:
    ids = World().record(store)
    again = World(run="kfp-run-2").record(store)

    def rebuild(finished: str, caveats: tuple[str, ...]) -> RebuildResult:
        output = OutputVerdict(
            "train", "model", ids["model"], digest(MODEL_BYTES), Verdict.IDENTICAL, again["model"]
        )
        return RebuildResult(
            plan_id="plan:sha256:" + "1" * 64,
            model=ids["model"],
            environment="b",
            runner="local",
            verdict=Verdict.IDENTICAL,
            outputs=(output,),
            run=f"run:{finished}",  # one rebuild id each
            caveats=caveats,
            finished=finished,
        )

    record_rebuild(store, rebuild("2026-01-01T00:00:00Z", ()))
    newest = record_rebuild(
        store, rebuild("2026-01-02T00:00:00Z", ("the runner did not enforce images",))
    )
    card = check(tmp_path, {}, ids["model"])
    last = card["last_rebuild"]
    assert (last["id"], last["verdict"], last["hermetic"]) == (newest, "identical", False)
    assert "identical in b" in card["last_rebuild_summary"]
    assert "not hermetic" in card["last_rebuild_summary"]


def test_an_input_held_as_a_snapshot_is_present_where_its_manifest_is(
    store: MlmdStore, tmp_path: Path
) -> None:
    ids = World(raw_digest=False).record(store)
    data = tmp_path / "lake"
    data.mkdir()
    (data / "raw.csv").write_bytes(RAW_BYTES)
    held = LocalBlobStore(tmp_path / "held")
    (raw,) = store.get_artifacts([ids["raw"]])
    store.put_run(snapshot_parts(raw, create(data, held), held).record(raw))
    (tmp_path / "empty").mkdir()
    env = {
        "LINEAGE_ENVIRONMENTS__HELD__STORE": str(tmp_path / "held"),
        "LINEAGE_ENVIRONMENTS__EMPTY__STORE": str(tmp_path / "empty"),
    }
    card = check(tmp_path, env, ids["model"])
    assert card["pinned"]["inputs"]["pinned"] == 1
    states = {
        name: [i["state"] for i in place["inputs"]] for name, place in card["environments"].items()
    }
    assert states == {"empty": ["absent"], "held": ["present"]}
    assert card["environments"]["held"]["images"][0]["state"] == "no registry configured"
