"""Arguments that reach MLMD's filter syntax cannot widen it.

For arbitrary strings in every argument that ends up in a ``filter_query`` (the
``type`` of ``artifacts``, the image of ``impact``, a store page token, the
values a reverse reference is looked up by), the answer is a subset of what an
exact match gives, and the only errors are client errors.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lineage.errors import BadInputError
from lineage.model import KfpType
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.store import row_rules
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.api.conftest import codes, gql

# Every text, surrogates included, for calls that never leave the process; over HTTP
# without lone surrogates (what a JSON body can carry is the transport's concern).
ANY_TEXT = st.text(max_size=60)
WIRE_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)
ATTACKS = [
    "\\' OR 1=1 --",
    "' OR 1=1 --",
    "system.Model' OR type = 'system.Dataset",
    "system.Model\\' OR 1=1) OR (1=1 --",
    "%",
    "sha256:%",
    "sha256:_",
]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def artifacts_by_type(store: MlmdStore) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    token: str | None = None
    while True:
        page = store.list_artifacts(page_size=500, page_token=token)
        for a in page.items:
            out[a.type].add(a.id)
        if page.next_page_token is None:
            return out
        token = page.next_page_token


ARTIFACTS = """query($type: String, $after: String) {
  artifacts(type: $type, first: 500, after: $after) { nodes { id type } }
}"""


def _ids(answer: dict[str, Any]) -> set[str]:
    return {n["id"] for n in answer["data"]["artifacts"]["nodes"]}


def test_the_reported_injection_returns_nothing(
    client: TestClient, artifacts_by_type: dict[str, set[str]]
) -> None:
    assert sum(map(len, artifacts_by_type.values())) > 5  # there is something to leak
    answer = gql(client, ARTIFACTS, {"type": "\\' OR 1=1 --"})
    assert "errors" not in answer, answer
    assert _ids(answer) == set()


def test_a_known_type_still_filters(
    client: TestClient, artifacts_by_type: dict[str, set[str]]
) -> None:
    answer = gql(client, ARTIFACTS, {"type": KfpType.MODEL.value})
    assert _ids(answer) == artifacts_by_type[KfpType.MODEL.value] != set()


@FAST
@given(WIRE_TEXT)
@example("")
@example(ATTACKS[0])
@example(ATTACKS[1])
@example(ATTACKS[2])
@example(ATTACKS[3])
def test_artifacts_type_is_never_wider_than_an_exact_match(
    client: TestClient, artifacts_by_type: dict[str, set[str]], text: str
) -> None:
    answer = gql(client, ARTIFACTS, {"type": text})
    assert set(codes(answer)) <= {"BAD_REQUEST"}, answer
    if "errors" not in answer:
        assert _ids(answer) <= artifacts_by_type.get(text, set())


@FAST
@given(WIRE_TEXT)
@example(ATTACKS[0])
@example("W10")  # base64 of []: a well-formed payload that is no cursor
def test_a_garbled_after_is_a_client_error(client: TestClient, text: str) -> None:
    answer = gql(client, ARTIFACTS, {"type": None, "after": text})
    if text:
        assert codes(answer) == ["BAD_REQUEST"], answer
    else:
        assert "errors" not in answer, answer


IMPACT = """query($image: String) {
  impact(imageDigest: $image, first: 5) { sources { id } nodes { id } }
}"""


@FAST
@given(WIRE_TEXT)
@example(ATTACKS[0])
@example(ATTACKS[4])
@example(ATTACKS[5])
@example(ATTACKS[6])
def test_impact_image_is_never_wider_than_an_exact_match(client: TestClient, text: str) -> None:
    answer = gql(client, IMPACT, {"image": text})
    assert set(codes(answer)) <= {"BAD_REQUEST", "NOT_FOUND"}, answer
    if "errors" not in answer:
        for source in answer["data"]["impact"]["sources"]:
            assert source["id"].startswith(text) or source["id"].endswith("@" + text), source


@FAST
@given(ANY_TEXT)
@example(ATTACKS[0])
@example(ATTACKS[4])
def test_find_images_matches_exactly_or_finds_nothing(store: MlmdStore, text: str) -> None:
    for node in MlmdReader(store).find_images(text):
        assert node.properties.get(row_rules.DIGEST) == text or node.id.startswith(text)


@FAST
@given(ANY_TEXT)
@example(ATTACKS[0])
@example(ATTACKS[2])
def test_store_type_and_token_are_never_wider(
    store: MlmdStore, artifacts_by_type: dict[str, set[str]], text: str
) -> None:
    found = {a.id for a in store.list_artifacts(type=text, page_size=500).items}
    assert found <= artifacts_by_type.get(text, set())
    try:
        page = store.list_contexts(page_size=5, page_token=text)
    except BadInputError:
        return
    # Only a row id is taken as a token: the page starts after it.
    assert (text == "" or text.isdigit()) and len(page.items) <= 5


@FAST
@given(ANY_TEXT)
@example(ATTACKS[0])
@example("x' OR 1=1 OR 'a")
def test_reverse_references_match_exactly(store: MlmdStore, text: str) -> None:
    rows = rows_for(store)
    for key in ("cached_execution_id", "parent_dag_id"):
        for row in rows.executions_naming(key, [text, "task:none"]).values():
            assert row.proto.custom_properties[key].string_value == text
