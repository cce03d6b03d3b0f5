"""What a client gets wrong is a client error (BAD_REQUEST, NOT_FOUND), never INTERNAL: lone
surrogates, JSON nested past the parser's depth, empty ids."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import codes, gql

EMPTY_IDS = {
    "node": '{ node(id: "") { id } }',
    "run": '{ run(id: "") { id } }',
    "task": '{ task(id: "") { id } }',
    "artifact": '{ artifact(id: "") { id } }',
    "snapshot": '{ snapshot(id: "") { id } }',
    "pipeline": '{ pipeline(id: "") { id } }',
    "lineage": '{ lineage(id: "") { truncated } }',
    "path": '{ path(from: "", to: "") { found } }',
    "diff": '{ diff(from: "", to: "") { entries { key } } }',
    "impact artifact": '{ impact(artifactId: "") { totalCount } }',
    "impact snapshot": '{ impact(snapshotId: "") { totalCount } }',
    "impact image": '{ impact(imageDigest: "") { totalCount } }',
}


@pytest.mark.parametrize("field", sorted(EMPTY_IDS))
def test_an_empty_id_is_a_client_error(client: TestClient, field: str) -> None:
    answer = gql(client, EMPTY_IDS[field])
    assert codes(answer) in (["BAD_REQUEST"], ["NOT_FOUND"]), answer
    assert answer["_status"] < 500


def _post_raw(client: TestClient, body: str) -> Any:
    return client.post(
        "/graphql", content=body.encode(), headers={"content-type": "application/json"}
    )


SURROGATES = {
    "comment": '{"query": "{ whoami { subject } } # \\ud800"}',
    "string argument": '{"query": "{ run(id: \\"\\udfff\\") { id } }"}',
    "variable": '{"query": "query Q($id: ID!) { run(id: $id) { id } }", '
    '"variables": {"id": "a\\ud83d"}}',
    "variable name": '{"query": "{ whoami { subject } }", "variables": {"\\udc80": 1}}',
    "nested variable": '{"query": "{ whoami { subject } }", '
    '"variables": {"a": [{"b": ["\\ud800"]}]}}',
    "operation name": '{"query": "{ whoami { subject } }", "operationName": "Q\\ud800"}',
}


@pytest.mark.parametrize("where", sorted(SURROGATES))
def test_a_lone_surrogate_is_a_bad_request(client: TestClient, where: str) -> None:
    response = _post_raw(client, SURROGATES[where])
    assert response.status_code < 500, response.text
    body = response.json()
    assert codes(body) == ["BAD_REQUEST"], body
    assert "surrogate" in body["errors"][0]["message"]


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [1_500, 100_000])
def test_json_nested_past_the_parser_is_a_bad_request(client: TestClient, levels: int) -> None:
    body = '{"query": "{ whoami { subject } }", "variables": {"a": ' + _deep(levels) + "}}"
    response = _post_raw(client, body)
    assert response.status_code == 400, response.text
    assert codes(response.json()) == ["BAD_REQUEST"]
    got = client.get(  # a URL holds less: 5,000 levels
        "/graphql", params={"query": "{ whoami { subject } }", "variables": _deep(5_000)}
    )
    assert got.status_code == 400 and codes(got.json()) == ["BAD_REQUEST"], got.text
