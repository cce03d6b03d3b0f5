"""The auditor query book (graphql/queries/) runs against the recorded pipelines, and each
answer matches what the store holds (computed from its events in tests/api/storewalk.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lineage.model import EventType, Execution, KfpType
from lineage.store.mlmd import MlmdStore
from tests.api import storewalk
from tests.api.conftest import book, codes, gql
from tests.api.world import IMAGE_A, IMAGE_B, World, dataset_of, model_of


def _inputs(execution: Execution) -> dict[str, Any]:
    """KFP's ``inputs`` struct of a task: its parameters."""
    value = execution.properties.get("inputs")
    assert isinstance(value, dict)
    return value


def _ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert not answer.get("errors"), answer.get("errors")
    data: dict[str, Any] = answer["data"]
    return data


def test_model_inputs_are_everything_upstream_in_the_store(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    for name in ("training", "importer"):
        model = model_of(store, world.run_of(name))
        data = _ok(gql(client, book("model_inputs"), {"model": model.id}))
        returned = {n["id"] for n in data["lineage"]["nodes"]} - {model.id}
        assert returned == storewalk.upstream_artifacts(store, model.id)
        assert data["lineage"]["truncated"] is False
        producer = data["artifact"]["producer"]
        stored = store.get_executions([producer["id"]])[0]
        assert {p["name"]: p["value"] for p in producer["parameters"]} == _inputs(stored)
        read = {
            e.artifact
            for e in store.get_events(execution_ids=[stored.id])
            if e.type is EventType.INPUT
        }
        assert producer["image"]["digest"] == (IMAGE_B if name == "importer" else IMAGE_A)
        assert {i["id"] for i in producer["inputs"]} == {
            a for a in read if not a.startswith("image:")
        }
        assert producer["run"]["id"] == world.run_of(name)


def test_models_built_with_an_image_digest(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    for digest in (IMAGE_A, IMAGE_B):
        data = _ok(gql(client, book("models_by_image"), {"digest": digest}))["impact"]
        expected = {
            m for m in storewalk.models(store) if digest in storewalk.image_digests_used(store, m)
        }
        assert {n["id"] for n in data["nodes"]} == expected
        assert data["totalCount"] == len(expected)
        assert data["pageInfo"]["hasNextPage"] is False
        for node in data["nodes"]:
            assert node["run"]["id"] == storewalk.run_of_task(
                store,
                next(
                    e.execution
                    for e in store.get_events(artifact_ids=[node["id"]])
                    if e.type is EventType.OUTPUT
                ),
            )
    # A digest no image has is not found, with its code.
    missing = gql(client, book("models_by_image"), {"digest": "sha256:" + "0" * 64})
    assert codes(missing) == ["NOT_FOUND"]


def test_models_by_image_pages_with_cursors(client: TestClient, store: MlmdStore) -> None:
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = _ok(
            gql(client, book("models_by_image"), {"digest": IMAGE_A, "first": 2, "after": after})
        )["impact"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = {
        m for m in storewalk.models(store) if IMAGE_A in storewalk.image_digests_used(store, m)
    }
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))


def test_runs_that_consumed_a_snapshot(client: TestClient, store: MlmdStore, world: World) -> None:
    data = _ok(gql(client, book("snapshot_consumers"), {"snapshot": world.snapshot}))["snapshot"]
    sources = storewalk.snapshot_sources(store, world.snapshot)
    assert {s["id"] for s in data["sources"]} == sources
    tasks = {t for s in sources for t in storewalk.consumers(store, s)}
    tasks = {t for t in tasks if t.startswith("task:")}  # the snapshotting itself reads it too
    assert {t["id"] for t in data["consumers"]} == tasks
    assert {r["id"] for r in data["runs"]} == {storewalk.run_of_task(store, t) for t in tasks}
    assert world.team_b_run in {r["id"] for r in data["runs"]}  # read the same dataset


def test_difference_between_two_sweep_models(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    low, high = world.run_of("sweep learning_rate=0.05"), world.run_of("sweep learning_rate=0.8")
    a, b = model_of(store, low), model_of(store, high)
    data = _ok(gql(client, book("model_diff"), {"from": a.id, "to": b.id}))["diff"]
    assert data["same"] is False
    assert (data["from"]["id"], data["to"]["id"]) == (a.id, b.id)
    params = {
        (e["task"], e["parameter"]): (e["before"], e["after"])
        for e in data["entries"]
        if e["__typename"] == "ParameterDiff"
    }
    train = {
        r: next(
            x for x in store.get_run(r).executions if x.properties.get("task_name") == "train-model"
        )
        for r in (low, high)
    }
    before, after = (_inputs(train[r])["learning_rate"] for r in (low, high))
    assert any(
        key[1] == "learning_rate" and {float(v) for v in values} == {before, after}
        for key, values in params.items()
    )
    # The same model against itself: nothing differs.
    same = _ok(gql(client, book("model_diff"), {"from": a.id, "to": a.id}))["diff"]
    assert same["same"] is True and same["entries"] == []


def test_best_model_of_the_sweep_by_accuracy(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    sweep = [r for name, r in world.runs.items() if name.startswith("sweep")]
    scores = {}
    for run in sweep:
        record = store.get_run(run)
        metrics = next(a for a in record.artifacts if a.type == KfpType.METRICS)
        scores[run] = float(metrics.properties["accuracy"])  # type: ignore[arg-type]
    data = _ok(
        gql(client, book("best_model"), {"pipeline": "sweep", "metric": "accuracy", "first": 3})
    )["bestModels"]
    assert data["runsScanned"] == len(sweep) and data["truncated"] is False
    ranked = [m["run"]["id"] for m in data["models"]]
    assert ranked[0] == max(scores, key=lambda r: (scores[r], r))
    assert [m["value"] for m in data["models"]] == sorted(scores.values(), reverse=True)
    assert data["models"][0]["model"]["id"] == model_of(store, ranked[0]).id


def test_run_overview_matches_the_run_record(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    run = world.run_of("training")
    data = _ok(gql(client, book("run_overview"), {"run": run}))["run"]
    record = store.get_run(run)
    assert data["namespace"] == "local" and data["state"] == "SUCCEEDED"
    assert {t["id"] for t in data["tasks"]} == {e.id for e in record.executions}
    for task in data["tasks"]:
        outputs = {
            e.artifact
            for e in record.events
            if e.execution == task["id"] and e.type is EventType.OUTPUT
        }
        assert {o["id"] for o in task["outputs"]} == outputs
        # Every task that names an image shows the digest linked to it, as task(id:) does.
        named = next(e for e in record.executions if e.id == task["id"]).properties.get("image")
        if named:
            assert task["image"]["digest"] == IMAGE_A, task


def test_data_to_model_path(client: TestClient, store: MlmdStore, world: World) -> None:
    run = world.run_of("training")
    dataset, model = dataset_of(store, run), model_of(store, run)
    data = _ok(gql(client, book("data_to_model_path"), {"from": dataset.id, "to": model.id}))
    path = data["path"]
    assert path["found"] is True and path["reversed"] is False
    assert path["nodes"][0]["id"] == dataset.id and path["nodes"][-1]["id"] == model.id
    assert [e["kind"] for e in path["edges"]] == ["INPUT", "OUTPUT"]


def test_runs_of_pipeline_pages(client: TestClient, world: World) -> None:
    sweep = sorted(r for name, r in world.runs.items() if name.startswith("sweep"))
    seen: list[str] = []
    after = None
    while True:
        page = _ok(
            gql(client, book("runs_of_pipeline"), {"pipeline": "sweep", "first": 2, "after": after})
        )["runs"]
        seen += [n["id"] for n in page["nodes"]]
        assert all(n["models"] for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sweep
