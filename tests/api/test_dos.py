"""Documents built to exhaust the server are refused in time linear in their size, off the
event loop: a fragment bomb, spread 2^n times, neither freezes /healthz nor anyone else."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from graphql import parse

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.guards import shape
from lineage.api.http.app import create_app
from lineage.settings import Settings
from tests.api.conftest import codes, gql
from tests.api.hostile import fragment_bomb
from tests.api.live import serving

# A deadline for an answer that must come at once; today's exponential checks take
# minutes at n=22 and forever beyond, so a test that hits it fails instead of hanging.
ANSWER_S = 20.0


@pytest.mark.parametrize("n", [22, 40, 120])
def test_a_fragment_bomb_is_answered_at_once(settings: Settings, shared: Shared, n: int) -> None:
    app = create_app(settings, ApiSettings(), shared=shared, audit=False)
    with serving(app) as url:
        # The leaf costs nothing (whoami is a value object), and GraphQL merges the copies:
        # the bomb is a valid question with a small answer.
        cheap = httpx.post(
            f"{url}/graphql",
            json={"query": fragment_bomb(n, "whoami { subject }")},
            timeout=ANSWER_S,
        ).json()
        assert cheap["data"] == {"whoami": {"subject": "local"}}, cheap
        # A page under 2^n copies of itself is priced as such, and refused.
        costly = httpx.post(
            f"{url}/graphql",
            json={"query": fragment_bomb(n, "runs(first: 2) { nodes { id } }")},
            timeout=ANSWER_S,
        ).json()
        assert codes(costly) == ["LIMIT_EXCEEDED"], costly
        assert "cost" in costly["errors"][0]["message"]


def test_healthz_answers_while_bombs_are_in_flight(settings: Settings, shared: Shared) -> None:
    app = create_app(settings, ApiSettings(), shared=shared, audit=False)
    with serving(app) as url:
        answers: list[dict[str, Any]] = []
        bombs_done = threading.Event()

        def bomb() -> None:
            with httpx.Client(timeout=120) as client:
                for i in range(6):
                    # Distinct texts, so no cache answers them: fragment bombs, and 500 copies
                    # of one field, which graphql-core's validation compares pair by pair.
                    leaf = f"a{i}: whoami {{ subject }}"
                    answers.append(
                        client.post(
                            f"{url}/graphql", json={"query": fragment_bomb(22 + i, leaf)}
                        ).json()
                    )
                    wide = "{ " + " ".join(["whoami { subject }"] * (480 + i)) + " }"
                    answers.append(client.post(f"{url}/graphql", json={"query": wide}).json())
            bombs_done.set()

        thread = threading.Thread(target=bomb, daemon=True)
        thread.start()
        healthy_during = 0
        with httpx.Client(timeout=5.0) as client:  # a stalled loop fails here
            while not bombs_done.wait(0.02):
                assert client.get(f"{url}/healthz").status_code == 200
                healthy_during += 1
        thread.join(ANSWER_S)
        assert healthy_during >= 3, healthy_during
        assert len(answers) == 12
        assert all("INTERNAL" not in codes(a) for a in answers), answers


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ ...Nope }", "Unknown fragment 'Nope'"),
        ('{ run(id: "a") { ...Nope } }', "Unknown fragment 'Nope'"),
        ("{ ...A } fragment A on Query { ...Nope }", "Unknown fragment 'Nope'"),
        ("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", "within itself"),
        ("{ ...A } fragment A on Query { whoami { ...A } }", "within itself"),
        ("{ ...A } fragment A on Query { whoami { subject } } fragment A on Query { x }", "one"),
    ],
)
def test_unknown_fragments_and_cycles_are_bad_requests(
    client: TestClient, query: str, message: str
) -> None:
    answer = gql(client, query)
    assert codes(answer) == ["BAD_REQUEST"], answer
    assert message in answer["errors"][0]["message"]


def _nest(k: int) -> str:
    return "producer { inputs { " * k + "id" + " } }" * k


def measured(query: str) -> shape.Shape:
    found = shape.measure(parse(query))
    assert isinstance(found, shape.Shape), found
    return found


@pytest.mark.parametrize(("k", "too_deep"), [(4, False), (5, True)])
def test_depth_is_counted_through_fragments(client: TestClient, k: int, too_deep: bool) -> None:
    # artifact (1) + A: producer, inputs (2) + B: 2k levels
    deep = (
        '{ artifact(id: "x") { ...A } } fragment A on Artifact { producer { inputs { ...B } } } '
        f"fragment B on Artifact {{ {_nest(k)} }}"
    )
    assert measured(deep).height == 3 + 2 * k
    answer = gql(client, deep)
    message = answer["errors"][0]["message"]  # at 4, the cost of the nested lists is over
    assert ("exceeds maximum operation depth of 12" in message) is too_deep, message


def test_aliases_are_counted_through_fragments(client: TestClient) -> None:
    aliases = " ".join(f"a{n}: whoami {{ subject }}" for n in range(20))
    flood = f"{{ ...C }} fragment A on Query {{ {aliases} }} fragment C on Query {{ ...A ...A }}"
    assert measured(flood).aliases == 40
    answer = gql(client, flood)
    assert codes(answer) == ["LIMIT_EXCEEDED"], answer
    assert "40 aliases" in answer["errors"][0]["message"]


def test_an_oversized_document_is_refused_before_parsing(client: TestClient) -> None:
    padding = "#" + "x" * 25_000 + "\n"
    answer = gql(client, padding + "{ whoami { subject } }")
    assert codes(answer) == ["LIMIT_EXCEEDED"], answer
    assert "20000" in answer["errors"][0]["message"]
