"""Bad input gets a GraphQL error with a code, never a crash or a timeout, and the
server stays up: 1,000 hostile documents, then a valid query that must succeed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from lineage.api.guards.errors import CLIENT_CODES
from tests.api.conftest import gql
from tests.api.hostile import Hostile, kinds, stream


def send(client: TestClient, hostile: Hostile) -> Response:
    if hostile.raw:
        response = client.post(
            "/graphql", content=hostile.body, headers={"content-type": "application/json"}
        )
    else:
        response = client.post("/graphql", json=hostile.body)
    assert isinstance(response, Response)
    return response


def error_codes(response: Response) -> list[str]:
    body = response.json()
    assert body.get("errors"), body
    return [e["extensions"]["code"] for e in body["errors"]]


@pytest.mark.parametrize("hostile", kinds(0), ids=[h.name for h in kinds(0)])
def test_each_kind_of_bad_input_gets_its_code(client: TestClient, hostile: Hostile) -> None:
    response = send(client, hostile)
    assert response.status_code < 500
    assert error_codes(response) == [hostile.code]


def test_a_thousand_hostile_documents_then_a_valid_query(client: TestClient) -> None:
    seen: dict[str, int] = {}
    for hostile in stream(1000):
        response = send(client, hostile)
        assert response.status_code < 500, (hostile.name, response.text[:300])
        got = error_codes(response)
        assert set(got) <= CLIENT_CODES and got == [hostile.code], (hostile.name, got)
        seen[hostile.name] = seen.get(hostile.name, 0) + 1
    assert sum(seen.values()) == 1000
    answer = gql(client, "{ whoami { subject } runs(first: 1) { nodes { id } } }")
    assert answer["_status"] == 200 and "errors" not in answer
    assert answer["data"]["runs"]["nodes"]


def test_limit_errors_name_the_limit(client: TestClient) -> None:
    answer = gql(client, "{ runs(first: 100000) { nodes { id } } }")
    message = answer["errors"][0]["message"]
    assert "100000" in message and "500" in message
    cost = gql(
        client,
        "{ runs(first: 500) { nodes { tasks { inputs { consumers { outputs { id } } } } } } }",
    )
    assert "cost" in cost["errors"][0]["message"]


def test_the_cost_of_an_accepted_query_is_reported(client: TestClient) -> None:
    small = gql(client, "{ runs(first: 2) { nodes { id } } }")
    large = gql(client, "{ runs(first: 20) { nodes { id tasks { id } } } }")
    assert 0 < small["extensions"]["cost"] < large["extensions"]["cost"]
