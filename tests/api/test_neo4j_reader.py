"""With Neo4j configured and synced, the API answers from the projection, and its answers
(and its namespace scoping) are the same as from MLMD."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.settings import Neo4jConfig, Settings
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import MlmdRows
from tests.api.conftest import book, gql
from tests.api.world import IMAGE_A, TEAM_B, World, dataset_of, model_of
from tests.services import Neo4jService


@pytest.fixture
def neo4j_client(
    world: World, store: MlmdStore, neo4j_service: Neo4jService, neo4j_driver: neo4j.Driver
) -> Iterator[TestClient]:
    graph = Graph(neo4j_service.bolt_uri)
    try:
        sync(graph, MlmdRows(store.mlmd), store.location, full=True)
    finally:
        graph.close()
    settings = Settings(home=world.home, neo4j=Neo4jConfig(uri=neo4j_service.bolt_uri))
    tokens = world.home / "neo4j-tokens.yaml"
    tokens.write_text(
        "tokens:\n  - {subject: b, token: tok-b, namespaces: [team-b]}\n"
        "  - {subject: audit, token: tok-audit, auditor: true}\n"
    )
    api = ApiSettings(token_file=tokens)
    with open_shared(settings, api) as shared:
        assert shared.reader.backend == "neo4j"
        with TestClient(create_app(settings, api, shared=shared, audit=False)) as client:
            yield client


def _data(answer: dict[str, Any]) -> Any:
    assert not answer.get("errors"), answer.get("errors")
    return answer["data"]


def test_the_book_answers_the_same_from_neo4j(
    neo4j_client: TestClient, client: TestClient, store: MlmdStore, world: World
) -> None:
    training = world.run_of("training")
    asked = [
        (book("models_by_image"), {"digest": IMAGE_A}),
        (book("model_inputs"), {"model": model_of(store, training).id}),
        (book("snapshot_consumers"), {"snapshot": world.snapshot}),
        (
            "query L($id: ID!) { lineage(id: $id, direction: BOTH) "
            "{ nodes { id kind name } edges { source target kind key } truncated } }",
            {"id": dataset_of(store, training).id},
        ),
    ]
    for query, variables in asked:
        from_neo4j = _data(gql(neo4j_client, query, variables, token="tok-audit"))
        assert from_neo4j == _data(gql(client, query, variables)), query
        scoped = gql(neo4j_client, query, variables, token="tok-b")
        if query == book("model_inputs"):  # a model of the other namespace: as if unknown
            assert {e["extensions"]["code"] for e in scoped["errors"]} == {"NOT_FOUND"}
        else:
            assert all(r not in json.dumps(_data(scoped)) for r in world.runs.values())
    scoped = _data(gql(neo4j_client, book("models_by_image"), {"digest": IMAGE_A}, token="tok-b"))
    assert scoped["impact"]["totalCount"] == 1
    assert scoped["impact"]["nodes"][0]["run"]["namespace"] == TEAM_B


def test_impact_pages_without_totals_are_the_counted_pages(
    neo4j_client: TestClient, store: MlmdStore, world: World
) -> None:
    """A selection without totalCount/totalRuns lets the reader skip the count;
    the models and cursors it returns must not change."""
    hub = dataset_of(store, world.run_of("training")).id
    with_totals = (
        "query I($id: ID!, $after: String) { impact(artifactId: $id, first: 1, after: $after) "
        "{ totalCount nodes { id } pageInfo { endCursor hasNextPage } } }"
    )
    without = with_totals.replace("{ totalCount nodes", "{ nodes")
    for query in (with_totals, without):
        pages: list[list[str]] = []
        after = None
        while True:
            answer = _data(
                gql(neo4j_client, query, {"id": hub, "after": after}, token="tok-audit")
            )["impact"]
            pages.append([n["id"] for n in answer["nodes"]])
            after = answer["pageInfo"]["endCursor"]
            if not answer["pageInfo"]["hasNextPage"]:
                break
        if query == with_totals:
            counted = pages
            assert sum(len(p) for p in pages) == answer["totalCount"]
    assert pages == counted
