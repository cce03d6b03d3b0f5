"""A snapshot visible only because it is shared does not show another namespace's store.

A small store of two namespaces: ``local`` makes a dataset and snapshots it into its
own snapshot store; ``team-b`` reads the dataset, snapshots it into team-b's store
and reads that snapshot. Each namespace sees both snapshots (through the shared
dataset), but the one of the other namespace comes with its ``uri`` and ``store``
redacted and a ``redacted`` property saying so, wherever it appears: by id, as a
node, in an artifact's snapshots, in the artifacts list and in a lineage walk. An
auditor reads everything as stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage import model
from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    LineageType,
    RunRecord,
)
from lineage.services.scope import REDACTED
from lineage.settings import Settings
from lineage.store.connect import open_sqlite
from tests.api.conftest import gql

DATASET = Artifact(id="artifact:gs://local/data", type=KfpType.DATASET, uri="gs://local/data")
LOCAL_STORE = "gs://local-snapshots"
TEAM_B_STORE = "gs://team-b-snapshots"


def _snapshot(store: str, seed: str) -> Artifact:
    root = hashlib.sha256(seed.encode()).hexdigest()
    return Artifact(
        id=model.snapshot_id(root),
        type=LineageType.SNAPSHOT,
        uri=f"{store}/manifests/{root}",
        name=model.snapshot_id(root),
        properties={"root": root, "store": store, "files": 1, "bytes": 3},
    )


LOCAL_SNAPSHOT = _snapshot(LOCAL_STORE, "local")
TEAM_B_SNAPSHOT = _snapshot(TEAM_B_STORE, "team-b")


def _snapshotting(snapshot: Artifact) -> tuple[Execution, Event, Event]:
    act = Execution(
        id=model.snapshotting_id(DATASET.id, snapshot.id),
        type=LineageType.SNAPSHOT_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"snapshot": snapshot.id},
    )
    return (
        act,
        Event(act.id, DATASET.id, EventType.INPUT, (model.SNAPSHOT_SOURCE_KEY,)),
        Event(act.id, snapshot.id, EventType.OUTPUT, (model.SNAPSHOT_OUTPUT_KEY,)),
    )


def _run(namespace: str, name: str) -> Context:
    return Context(
        id=model.run_id(name),
        type=KfpType.PIPELINE_RUN,
        name=name,
        properties={"namespace": namespace},
    )


def _records() -> list[RunRecord]:
    make = Execution(
        id=model.task_id("local-1", "make"),
        type=KfpType.CONTAINER_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"namespace": "local", "task_name": "make"},
    )
    local_act, local_in, local_out = _snapshotting(LOCAL_SNAPSHOT)
    score = Execution(
        id=model.task_id("b-1", "score"),
        type=KfpType.CONTAINER_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"namespace": "team-b", "task_name": "score"},
    )
    b_act, b_in, b_out = _snapshotting(TEAM_B_SNAPSHOT)
    return [
        RunRecord(
            (_run("local", "local-1"),),
            (make,),
            (DATASET,),
            (Event(make.id, DATASET.id, EventType.OUTPUT, ("dataset",)),),
        ),
        RunRecord((), (local_act,), (DATASET, LOCAL_SNAPSHOT), (local_in, local_out)),
        RunRecord(
            (_run("team-b", "b-1"),),
            (score, b_act),
            (DATASET, TEAM_B_SNAPSHOT),
            (
                b_in,
                b_out,
                Event(score.id, DATASET.id, EventType.INPUT, ("dataset",)),
                Event(score.id, TEAM_B_SNAPSHOT.id, EventType.INPUT, ("snapshot",)),
            ),
        ),
    ]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("shared-snapshots")
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        for record in _records():
            store.put_run(record)
    finally:
        store.close()
    tokens = home / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        "  - {subject: local, token: tok-local, namespaces: [local]}\n"
        "  - {subject: b, token: tok-b, namespaces: [team-b]}\n"
        "  - {subject: audit, token: tok-audit, auditor: true}\n"
    )
    settings = Settings(home=home)
    with open_shared(settings, ApiSettings()) as shared:
        app = create_app(settings, ApiSettings(token_file=tokens), shared=shared, audit=False)
        with TestClient(app) as test_client:
            yield test_client


QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "snapshot": ("query Q($id: ID!) { snapshot(id: $id) { id uri metadata } }", {}),
    "node": ("query Q($id: ID!) { node(id: $id) { ... on Snapshot { id uri metadata } } }", {}),
    "artifact snapshots": (
        "query Q($d: ID!) { artifact(id: $d) { snapshots { id uri metadata } } }",
        {"d": DATASET.id},
    ),
    "artifacts list": (
        '{ artifacts(type: "lineage.Snapshot") { nodes { id uri metadata } } }',
        {},
    ),
    "lineage": (
        "query Q($d: ID!) { lineage(id: $d, direction: BOTH, depth: 4) "
        "{ nodes { id uri properties } } }",
        {"d": DATASET.id},
    ),
}


def _ask(client: TestClient, name: str, snapshot: Artifact, token: str) -> dict[str, Any]:
    query, variables = QUERIES[name]
    if "$id" in query:
        variables = {**variables, "id": snapshot.id}
    answer = gql(client, query, variables, token=token)
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def _views(data: dict[str, Any], snapshot_id: str) -> list[dict[str, Any]]:
    """Every object in the answer that is this snapshot."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("id") == snapshot_id:
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return found


def _props(view: dict[str, Any]) -> dict[str, Any]:
    props = view.get("metadata", view.get("properties"))
    if isinstance(props, str):
        return dict(json.loads(props))
    assert isinstance(props, dict), view
    return props


@pytest.mark.parametrize("name", list(QUERIES))
@pytest.mark.parametrize(
    ("token", "foreign", "own", "other_store"),
    [
        ("tok-local", TEAM_B_SNAPSHOT, LOCAL_SNAPSHOT, TEAM_B_STORE),
        ("tok-b", LOCAL_SNAPSHOT, TEAM_B_SNAPSHOT, LOCAL_STORE),
    ],
    ids=["local sees team-b's", "team-b sees local's"],
)
def test_a_shared_snapshot_hides_the_other_namespaces_store(
    client: TestClient, name: str, token: str, foreign: Artifact, own: Artifact, other_store: str
) -> None:
    data = _ask(client, name, foreign, token)
    views = _views(data, foreign.id)
    assert views, data  # the snapshot is visible, only redacted
    assert other_store not in json.dumps(data)
    for view in views:
        assert view["uri"] == ""
        assert REDACTED in _props(view) and "store" not in _props(view)
    # The namespace's own snapshot is shown as stored.
    mine = _views(_ask(client, name, own, token), own.id)
    assert mine and all(v["uri"] == own.uri and REDACTED not in _props(v) for v in mine)


@pytest.mark.parametrize("name", list(QUERIES))
def test_an_auditor_reads_every_snapshot_as_stored(client: TestClient, name: str) -> None:
    for snapshot in (LOCAL_SNAPSHOT, TEAM_B_SNAPSHOT):
        views = _views(_ask(client, name, snapshot, "tok-audit"), snapshot.id)
        assert views and all(v["uri"] == snapshot.uri for v in views)
        assert all(_props(v)["store"] == snapshot.properties["store"] for v in views)
