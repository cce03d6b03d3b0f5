"""Cursors are opaque and scoped.

A namespace token learns nothing from its cursors (no position in the unscoped
scan, no row id; they cannot even be read), a cursor works only for the
principal and the list it was made for, anything else given as ``after`` is a
BAD_REQUEST, and paging in any page sizes returns every visible item exactly
once, also when the scan budget cuts pages short over hidden records.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.guards.auth import Principal
from lineage.api.guards.cursors import Cursors
from lineage.api.http.app import create_app
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore
from tests.api.conftest import codes, gql
from tests.api.world import TEAM_B, World

# Two principals of team-b (different subjects), one of each namespace alone, one of both;
# and an auditor.
TOKENS = {
    "tok-b": [TEAM_B],
    "tok-b2": [TEAM_B],
    "tok-local": ["local"],
    "tok-both": ["local", TEAM_B],
}


def _token_file(path: Path) -> Path:
    lines = ["tokens:"]
    for token, namespaces in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines += [f"  - subject: {token}", f"    sha256: {digest}", f"    namespaces: {namespaces}"]
    lines += ["  - subject: audit", "    token: tok-audit", "    auditor: true"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _client(base: Path, settings: Settings, shared: Shared) -> Iterator[TestClient]:
    api = ApiSettings(token_file=_token_file(base / "tokens.yaml"))
    with TestClient(create_app(settings, api, shared=shared, audit=False)) as client:
        yield client


@pytest.fixture(scope="module")
def scoped(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, shared: Shared
) -> Iterator[TestClient]:
    yield from _client(tmp_path_factory.mktemp("cursors"), settings, shared)


@pytest.fixture(scope="module")
def short_scans(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, shared: Shared
) -> Iterator[TestClient]:
    """The same store, with a scan budget of 2 records: most pages are cut short."""
    cut = dataclasses.replace(shared, limits=dataclasses.replace(shared.limits, max_scan=2))
    yield from _client(tmp_path_factory.mktemp("cursors-short"), settings, cut)


RUNS = "query($n: Int!, $a: String) { runs(first: $n, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"  # noqa: E501
ARTIFACTS = "query($n: Int!, $a: String) { artifacts(first: $n, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"  # noqa: E501
LISTS = {"runs": RUNS, "artifacts": ARTIFACTS}


def _page(client: TestClient, name: str, first: int, after: str | None, token: str) -> Any:
    answer = gql(client, LISTS[name], {"n": first, "a": after}, token=token)
    assert "errors" not in answer, answer
    return answer["data"][name]


def _all(client: TestClient, name: str, token: str) -> list[str]:
    return [e["node"]["id"] for e in _page(client, name, 500, None, token)["edges"]]


def _row_of_run(store: MlmdStore, run: str) -> int:
    return int(store.mlmd.get_contexts_by_external_ids([run])[0].id)


def test_a_team_b_cursor_reveals_nothing(
    scoped: TestClient, shared: Shared, store: MlmdStore, world: World
) -> None:
    page = _page(scoped, "runs", 1, None, "tok-b")
    assert [e["node"]["id"] for e in page["edges"]] == [world.team_b_run]
    cursor = page["edges"][0]["cursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    # Not readable: no JSON, no run id, no row number in the clear.
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
        json.loads(raw)
    row = _row_of_run(store, world.team_b_run)
    assert str(row).encode() not in raw and b"runs" not in raw
    # Every cursor of a list has the same length, wherever it points.
    lengths = {len(e["cursor"]) for e in _page(scoped, "artifacts", 50, None, "tok-audit")["edges"]}
    assert lengths == {len(cursor)}
    # Sealed inside is the key of the last VISIBLE item, team-b's run, not a position
    # counted over the runs team-b cannot see.
    inside = Cursors(shared.cursor_key, _principal("tok-b", [TEAM_B])).open("runs", cursor)
    assert inside == [str(row), 0]
    assert row > 1  # hidden runs come first in the store: there was something to reveal


def _principal(subject: str, namespaces: list[str]) -> Principal:
    return Principal(subject=subject, namespaces=frozenset(namespaces), via="token")


def test_a_cursor_is_refused_for_another_principal_or_list(scoped: TestClient) -> None:
    made = {t: _page(scoped, "runs", 1, None, t)["pageInfo"]["endCursor"] for t in TOKENS}
    made["tok-audit"] = _page(scoped, "runs", 1, None, "tok-audit")["pageInfo"]["endCursor"]
    for maker, cursor in made.items():
        if cursor is None:  # tok-b sees one run: there is no next page
            continue
        for user in made:
            answer = gql(scoped, RUNS, {"n": 1, "a": cursor}, token=user)
            if user == maker:
                assert "errors" not in answer, answer
            else:
                assert codes(answer) == ["BAD_REQUEST"], (maker, user, answer)
        # A runs cursor is no artifacts cursor, even for its own principal.
        answer = gql(scoped, ARTIFACTS, {"n": 1, "a": cursor}, token=maker)
        assert codes(answer) == ["BAD_REQUEST"], answer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _garbled(real: str) -> list[str]:
    flipped = real[:-3] + ("A" if real[-3] != "A" else "B") + real[-2:]
    return [
        _b64(json.dumps(["runs", None, 4]).encode()),  # the old clear-text form
        _b64(json.dumps(["runs", "4", 0]).encode()),
        _b64(b"[" * 5000 + b"]" * 5000),  # nested past the JSON recursion limit
        _b64(json.dumps(["runs", "x' OR 1=1 --", 0]).encode()),
        real[: len(real) // 2],  # truncated
        real[:-1],
        flipped,  # forged: one character changed
        real + "AAAA",
        "%%%",
        "\u00e9t\u00e9",
        "A" * 100_000,
    ]


@pytest.mark.parametrize(
    "query",
    [
        RUNS,
        ARTIFACTS,
        'query($n: Int!, $a: String) { impact(imageDigest: "sha256:'
        + "0" * 64
        + '", first: $n, after: $a) { totalCount } }',
        'query($n: Int!, $a: String) { pipeline(id: "pipeline:training") '
        "{ runs(first: $n, after: $a) { nodes { id } } } }",
    ],
    ids=["runs", "artifacts", "impact", "pipeline runs"],
)
def test_a_garbled_cursor_is_a_bad_request(scoped: TestClient, query: str) -> None:
    real = _page(scoped, "runs", 1, None, "tok-local")["pageInfo"]["endCursor"]
    for cursor in _garbled(real):
        answer = gql(scoped, query, {"n": 1, "a": cursor}, token="tok-local")
        assert codes(answer) == ["BAD_REQUEST"], (cursor[:40], answer)


PAGES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PAGES
@given(
    st.sampled_from(["runs", "artifacts"]),
    st.sampled_from(["tok-b", "tok-local", "tok-both", "tok-audit"]),
    st.lists(st.integers(1, 4), min_size=1, max_size=8),
    st.booleans(),
)
def test_paging_returns_every_visible_item_exactly_once(
    scoped: TestClient,
    short_scans: TestClient,
    name: str,
    token: str,
    sizes: list[int],
    cut_short: bool,
) -> None:
    client = short_scans if cut_short else scoped
    expected = _all(scoped, name, token)
    seen: list[str] = []
    after: str | None = None
    for step in range(10_000):
        page = _page(client, name, sizes[step % len(sizes)], after, token)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after is not None
    assert seen == expected


def test_the_two_namespaces_page_apart(scoped: TestClient, world: World) -> None:
    """The property above is not vacuous: each token sees a different, non-empty list."""
    runs = {t: set(_all(scoped, "runs", t)) for t in ("tok-b", "tok-local", "tok-audit")}
    assert runs["tok-b"] == {world.team_b_run}
    assert runs["tok-local"] and not runs["tok-local"] & runs["tok-b"]
    assert runs["tok-audit"] == runs["tok-local"] | runs["tok-b"]
