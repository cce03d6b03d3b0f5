"""`lineage rebuild run` between two environments on one machine.

Environment A and B each have their own docker-registry, store and pipeline root. A
pipeline runs in A with `lineage run`, in an image pushed into A's registry by digest;
its model is planned, and rebuilt in B. Every expectation is read from the registries,
the stores and the recorded runs, not from the rebuild's own report alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx

from lineage.model import canonical_json, sha256_hex
from lineage.rebuild.document import load_plan, seal, write_plan
from lineage.rebuild.record import result_of
from lineage.snapshots import ops
from lineage.snapshots.blobs import LocalBlobStore, blob_key
from lineage.store.connect import open_sqlite
from tests.rebuild.rerun_world import RAW, Places, output, places, raw, steady
from tests.services import free_port

__all__ = ["places", "raw", "steady"]  # module fixtures, shared with the tests that import them


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_deterministic_pipeline_is_rebuilt_identical_in_another_environment(
    places: Places, steady: tuple[dict[str, Any], Path], raw: Path
) -> None:
    _, path = steady
    plan = load_plan(path)
    before = places.runs()

    out = places.rebuild(path)

    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["verdict"] == "identical"
    assert result["plan_id"] == plan["id"] and result["environment"] == "b"
    planned = [
        (t["path"], o["name"], o["digest"]) for t in plan["runs"][0]["tasks"] for o in t["outputs"]
    ]
    assert [(o["task"], o["output"], o["actual_digest"]) for o in result["outputs"]] == planned
    assert all(o["verdict"] == "identical" for o in result["outputs"])
    assert result["first_divergent_task"] is None and result["downstream_affected"] == []
    assert "image not enforced" in result["caveats"]
    assert [g.split(" ")[0] for g in result["gaps"]] == ["runner-ignores-images"]
    # The rebuilt run is recorded like any other run, under B's pipeline root.
    (new,) = sorted(set(places.runs()) - set(before))
    assert result["run"] == new
    store = open_sqlite(places.home / "mlmd.sqlite")
    try:
        recorded = store.get_run(new)
    finally:
        store.close()
    assert str(recorded.contexts[0].properties["pipeline_root"]).startswith(
        str(places.base / "root-b")
    )
    # The input and the image are in B, by content.
    store_b = places.base / "store-b"
    assert _sha256(store_b / blob_key(_sha256(raw).removeprefix("sha256:"))) == _sha256(raw)
    (item,) = plan["inputs"]
    assert item["snapshots"]
    for snapshot in item["snapshots"]:
        assert ops.verify(LocalBlobStore(store_b), snapshot["root"]).ok
    repository, digest = places.image.split("/", 1)[1].split("@")
    manifest = httpx.get(
        f"{places.b.url}/v2/{repository}/manifests/{digest}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=30,
    )
    assert manifest.status_code == 200
    assert "sha256:" + hashlib.sha256(manifest.content).hexdigest() == digest
    # The rewritten spec is kept in B under its digest and runs B's copies.
    (spec,) = result["extra"]["specs"]
    kept = Path(spec["location"])
    assert kept.is_relative_to(store_b) and _sha256(kept) == spec["digest"]
    rewritten = json.loads(kept.read_bytes())
    assert spec["digest"] == f"sha256:{sha256_hex(canonical_json(rewritten))}"
    executors = rewritten["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert images == {f"{places.b.address}/{repository}@{digest}"}
    (importer,) = [e["importer"] for e in executors.values() if "importer" in e]
    assert importer["artifactUri"] == {
        "constant": str(store_b / blob_key(_sha256(raw).removeprefix("sha256:")))
    }
    assert importer["metadata"]["expected_digest"] == _sha256(raw)
    kept_result = json.loads(Path(result["location"]).read_text())
    assert (kept_result["id"], kept_result["verdict"]) == (result["id"], "identical")


def test_the_rebuild_is_recorded_with_each_output_beside_its_original(
    places: Places, steady: tuple[dict[str, Any], Path]
) -> None:
    _, path = steady
    out = places.rebuild(path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    store = open_sqlite(places.home / "mlmd.sqlite")
    try:
        (node,) = store.get_executions([result["id"]])
        events = store.get_events(execution_ids=[result["id"]])
    finally:
        store.close()
    stored = result_of(node.properties)
    assert node.type == "lineage.Rebuild"
    assert (stored.verdict, stored.run, stored.caveats) == (
        "identical",
        result["run"],
        ("image not enforced", "the plan has 1 hermeticity gap(s)"),
    )
    pairs = {(e.path[1], e.path[0]): e.artifact for e in events}
    for index, item in enumerate(result["outputs"]):
        assert pairs[(index, "original")] == item["original"]
        assert pairs.get((index, "rebuilt"), item["rebuilt"]) == item["rebuilt"]


def test_a_non_deterministic_step_is_divergent_there_and_never_reproduced(
    places: Places, raw: Path
) -> None:
    run = places.run_in_a("drifting", raw)
    path = places.base / "drifting.plan.json"
    places.plan(run, path)

    out = places.rebuild(path)

    assert out.returncode == 11, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["verdict"] == "divergent"
    assert result["first_divergent_task"] == "noise"
    verdicts = {(o["task"], o["output"]): o["verdict"] for o in result["outputs"]}
    assert verdicts[("prepare", "data")] == "identical"
    assert verdicts[("noise", "noisy")] == "divergent"
    affected = {output(run, "fit", "model")["id"], output(run, "score", "metrics")["id"]}
    assert set(result["downstream_affected"]) == affected


def test_a_tampered_input_is_refused_before_anything_runs(places: Places) -> None:
    raw = places.base / "lake" / "tampered.csv"
    raw.write_text(RAW)
    run = places.run_in_a("steady", raw)
    path = places.base / "tampered.plan.json"
    plan = places.plan(run, path)
    raw.write_text(RAW.replace("7,49", "7,50"))
    before = places.runs()

    out = places.rebuild(path)

    assert out.returncode == 4
    (line,) = out.stderr.strip().splitlines()
    (item,) = plan["inputs"]
    assert item["artifact"] in line and "no longer matches its digest" in line
    assert places.runs() == before
    assert out.stdout == ""


def test_a_tampered_plan_is_refused(places: Places, steady: tuple[dict[str, Any], Path]) -> None:
    _, path = steady
    plan = json.loads(path.read_text())
    plan["runs"][0]["parameters"]["rows"] = 5
    edited = places.base / "edited.plan.json"
    edited.write_text(json.dumps(plan))
    before = places.runs()

    out = places.rebuild(edited)

    assert out.returncode == 4
    assert "does not match its id" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert places.runs() == before


def test_control_flow_the_runner_cannot_run_is_refused_before_migration(
    places: Places, steady: tuple[dict[str, Any], Path]
) -> None:
    _, path = steady
    plan = {k: v for k, v in load_plan(path).items() if k != "id"}
    tasks = plan["runs"][0]["pipeline_spec"]["spec"]["root"]["dag"]["tasks"]
    tasks["prepare"]["parameterIterator"] = {"itemInput": "rows", "items": {"raw": "[1, 2]"}}
    looping = places.base / "looping.plan.json"
    write_plan(looping, seal(plan))

    out = places.rebuild(looping, "c")

    assert out.returncode == 4
    assert "task prepare uses dsl.ParallelFor" in out.stderr
    assert not (places.base / "store-c").exists()


def test_an_unknown_environment_is_one_line(
    places: Places, steady: tuple[dict[str, Any], Path]
) -> None:
    out = places.rebuild(steady[1], "nowhere")
    assert out.returncode == 5
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert "no environment named 'nowhere'" in out.stderr


def test_a_chain_of_runs_is_rebuilt_upstream_first_each_importing_the_rebuilt_copy(
    places: Places, steady: tuple[dict[str, Any], Path]
) -> None:
    first, _ = steady
    handed_over = output(first, "prepare", "data")
    second = places.run_in_a("steady", Path(handed_over["uri"]))
    path = places.base / "chain.plan.json"
    plan = places.plan(second, path)
    assert len(plan["runs"]) == 2

    out = places.rebuild(path)

    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["verdict"] == "identical"
    assert list(result["extra"]["runs"]) == [r["id"] for r in plan["runs"]]
    rebuilt_first = result["extra"]["runs"][plan["runs"][0]["id"]]
    made = next(
        o
        for o in result["outputs"]
        if o["original"] == handed_over["id"] and o["task"] == "prepare"
    )
    assert made["rebuilt"] != handed_over["id"]
    assert rebuilt_first != result["run"] and result["run"] in places.runs()
    spec = json.loads(Path(result["extra"]["specs"][1]["location"]).read_bytes())
    (importer,) = [
        e["importer"] for e in spec["deploymentSpec"]["executors"].values() if "importer" in e
    ]
    uri = importer["artifactUri"]["constant"]
    assert uri.startswith(str(places.base / "root-b")) and made["rebuilt"] == f"artifact:{uri}"


def test_an_unreachable_target_registry_is_named_and_nothing_runs(
    places: Places, steady: tuple[dict[str, Any], Path]
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    before = places.runs()
    out = places.lineage(
        "rebuild",
        "run",
        str(steady[1]),
        "--env",
        "e",
        "--allow-gaps",
        LINEAGE_ENVIRONMENTS__E__REGISTRY=nowhere,
        LINEAGE_ENVIRONMENTS__E__STORE=str(places.base / "store-e"),
        LINEAGE_ENVIRONMENTS__E__PIPELINE_ROOT=str(places.base / "root-e"),
        LINEAGE_INSECURE_REGISTRIES=f"{places.a.address},{nowhere}",
    )
    assert out.returncode == 7
    (line,) = out.stderr.strip().splitlines()
    assert f"cannot reach the target registry {nowhere}" in line
    assert places.runs() == before
    assert not (places.base / "root-e").exists()
