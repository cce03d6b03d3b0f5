"""The schema's fields and filters, checked against the recorded store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from lineage.model import KfpType
from lineage.store.mlmd import MlmdStore
from tests.api.conftest import codes, gql
from tests.api.world import IMAGE_A, TEAM_B, World, dataset_of, model_of


def test_node_resolves_each_kind_to_its_own_type(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    training = world.run_of("training")
    record = store.get_run(training)
    pipeline = next(c for c in record.contexts if c.type == KfpType.PIPELINE)
    expected = {
        training: "Run",
        pipeline.id: "Pipeline",
        next(e.id for e in record.executions if e.id.endswith("/train-model")): "Task",
        model_of(store, training).id: "Artifact",
        world.snapshot: "Snapshot",
    }
    for node_id, typename in expected.items():
        answer = gql(
            client, "query N($id: ID!) { node(id: $id) { __typename id kind } }", {"id": node_id}
        )
        assert answer["data"]["node"]["__typename"] == typename, node_id
        assert answer["data"]["node"]["id"] == node_id


def test_artifacts_filter_by_type_digest_and_uri(client: TestClient, store: MlmdStore) -> None:
    models = gql(client, '{ artifacts(type: "system.Model", first: 50) { nodes { id type } } }')
    stored = {a.id for a in store.list_artifacts(KfpType.MODEL, page_size=100).items}
    assert {n["id"] for n in models["data"]["artifacts"]["nodes"]} == stored
    one = store.get_artifacts(sorted(stored))[0]
    digest = str(one.properties["digest"])
    by_digest = gql(
        client, "query D($d: String!) { artifacts(digest: $d) { nodes { id } } }", {"d": digest}
    )
    same_content = {
        a.id
        for a in store.list_artifacts(page_size=1000).items
        if a.properties.get("digest") == digest
    }
    assert {n["id"] for n in by_digest["data"]["artifacts"]["nodes"]} == same_content
    by_uri = gql(
        client, "query U($u: String!) { artifacts(uri: $u) { nodes { id } } }", {"u": one.uri}
    )
    assert [n["id"] for n in by_uri["data"]["artifacts"]["nodes"]] == [one.id]


def test_runs_filter_by_state_and_namespace(client: TestClient, world: World) -> None:
    succeeded = gql(client, "{ runs(state: SUCCEEDED, first: 50) { nodes { id } } }")
    assert len(succeeded["data"]["runs"]["nodes"]) == len(world.runs) + 1
    failed = gql(client, "{ runs(state: FAILED) { nodes { id } } }")
    assert failed["data"]["runs"]["nodes"] == []
    team = gql(client, f'{{ runs(namespace: "{TEAM_B}") {{ nodes {{ id }} }} }}')
    assert team["data"]["runs"]["nodes"] == [{"id": world.team_b_run}]
    by_id = gql(client, f'{{ runs(pipeline: "pipeline:{TEAM_B}/scoring") {{ nodes {{ id }} }} }}')
    assert by_id["data"]["runs"]["nodes"] == [{"id": world.team_b_run}]


def test_images_and_snapshots(client: TestClient, store: MlmdStore, world: World) -> None:
    training = world.run_of("training")
    task = next(e for e in store.get_run(training).executions if e.id.endswith("/train-model"))
    answer = gql(
        client,
        "query T($id: ID!) { task(id: $id) { image { id reference repository tag digest knownBy "
        "tasks { id } } } }",
        {"id": task.id},
    )
    image = answer["data"]["task"]["image"]
    assert image["digest"] == IMAGE_A and image["knownBy"] == "pinned"
    assert image["repository"] == "docker.io/library/python" and image["tag"] == "3.11-slim"
    assert task.id in {t["id"] for t in image["tasks"]}
    dataset = dataset_of(store, training)
    snaps = gql(
        client,
        "query A($id: ID!) { artifact(id: $id) { snapshots { id root } } }",
        {"id": dataset.id},
    )
    assert snaps["data"]["artifact"]["snapshots"] == [
        {"id": world.snapshot, "root": world.snapshot.removeprefix("snapshot:sha256:")}
    ]


def test_lineage_says_when_the_limit_cut_it(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    model = model_of(store, world.run_of("training")).id
    cut = gql(
        client,
        "query L($id: ID!) { lineage(id: $id, limit: 2) { nodes { id } truncated "
        "truncatedBy frontier } }",
        {"id": model},
    )["data"]["lineage"]
    assert cut["truncated"] is True and cut["truncatedBy"] == "limit" and len(cut["nodes"]) == 2
    whole = gql(
        client, "query L($id: ID!) { lineage(id: $id) { nodes { id } truncated } }", {"id": model}
    )["data"]["lineage"]
    assert whole["truncated"] is False and len(whole["nodes"]) > 2


def test_as_of_cuts_what_was_recorded_later(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    dataset = dataset_of(store, world.run_of("training")).id
    score = "task:team-b-scoring-1/score"
    recorded = store.stamps([score])[score].created_ms
    before = datetime.fromtimestamp(recorded / 1000, UTC) - timedelta(milliseconds=1)
    query = (
        "query L($id: ID!, $t: DateTime) { lineage(id: $id, direction: DOWNSTREAM, "
        "asOf: $t) { nodes { id } } }"
    )
    now = gql(client, query, {"id": dataset, "t": None})["data"]["lineage"]["nodes"]
    then = gql(client, query, {"id": dataset, "t": before.isoformat()})["data"]["lineage"]["nodes"]
    assert {"id": score} in now and {"id": score} not in then
    assert {n["id"] for n in then} < {n["id"] for n in now}


def test_impact_needs_exactly_one_source(client: TestClient) -> None:
    answer = gql(client, "{ impact { totalCount } }")
    assert codes(answer) == ["BAD_REQUEST"]


def test_impact_checks_its_arguments_before_looking_any_up(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    """Two sources are a malformed request whether or not either exists: the shape is
    checked first, so the answer never depends on which id happens to be unknown."""
    known = model_of(store, world.run_of("training")).id
    query = (
        "query I($d: String, $a: ID, $s: ID) "
        "{ impact(imageDigest: $d, artifactId: $a, snapshotId: $s) { totalCount } }"
    )
    unknown = "artifact:gs://nowhere/none"
    for variables in (
        {"d": IMAGE_A, "a": unknown},
        {"d": "sha256:" + "0" * 64, "a": known},
        {"a": unknown, "s": "snapshot:sha256:" + "0" * 64},
        {"d": IMAGE_A, "a": known, "s": world.snapshot},
    ):
        answer = gql(client, query, variables)
        assert codes(answer) == ["BAD_REQUEST"], (variables, answer)
        assert "exactly one source" in answer["errors"][0]["message"]
    # One unknown source alone is still NOT_FOUND.
    assert codes(gql(client, query, {"a": unknown})) == ["NOT_FOUND"]


def test_best_models_of_an_unknown_pipeline_is_not_found(client: TestClient) -> None:
    query = (
        'query B($p: String!) { bestModels(pipeline: $p, metric: "accuracy") '
        "{ runsScanned models { value } } }"
    )
    for unknown in ("no-such-pipeline", "pipeline:local/no-such-pipeline"):
        answer = gql(client, query, {"p": unknown})
        assert codes(answer) == ["NOT_FOUND"], answer
        assert unknown in answer["errors"][0]["message"]
    # Known by name, by namespaced name and by id: ranked, not NOT_FOUND.
    for known in ("sweep", f"{TEAM_B}/scoring", f"pipeline:{TEAM_B}/scoring"):
        answer = gql(client, query, {"p": known})
        assert not answer.get("errors"), (known, answer)
        assert answer["data"]["bestModels"]["runsScanned"] >= 1
