"""Every request leaves exactly one audit line, in the file before the answer is sent:
refused, malformed, hostile or served. A line keeps the document's text, with the variables
whose names sound secret redacted, and a refused token is named by its hash, never itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.http.app import create_app
from lineage.settings import Settings

NO_NAMESPACE = "tok-grants-nothing"


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, shared: Shared
) -> Iterator[tuple[TestClient, Path]]:
    base = tmp_path_factory.mktemp("audit")
    tokens = base / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        "  - {subject: reader, token: tok-reader, namespaces: [default]}\n"
        f"  - {{subject: nobody, token: {NO_NAMESPACE}, namespaces: []}}\n"
    )
    api = ApiSettings(token_file=tokens, audit_log=base / "audit.jsonl", max_body_bytes=4096)
    with TestClient(create_app(settings, api, shared=shared)) as client:
        yield client, base / "audit.jsonl"


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


READER = {"authorization": "Bearer tok-reader"}
JSON = {"content-type": "application/json"}

# (name, method, keyword arguments for the client)
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("served", "post", {"json": {"query": "{ whoami { subject } }"}, "headers": READER}),
    ("no token", "post", {"json": {"query": "{ whoami { subject } }"}}),
    ("bad token", "post", {"json": {"query": "{ x }"}, "headers": {"authorization": "Bearer x"}}),
    (
        "no namespace",
        "post",
        {
            "json": {"query": "{ whoami { subject } }"},
            "headers": {"authorization": f"Bearer {NO_NAMESPACE}"},
        },
    ),
    ("not json", "post", {"content": b"{nope", "headers": {**READER, **JSON}}),
    ("batch", "post", {"content": b"[{}, {}]", "headers": {**READER, **JSON}}),
    ("too large", "post", {"json": {"query": "{ a }", "pad": "x" * 5000}, "headers": READER}),
    ("deep json", "post", {"content": b"[" * 5000 + b"]" * 5000, "headers": {**READER, **JSON}}),
    (
        "surrogate",
        "post",
        {
            "content": b'{"query": "{ whoami { subject } } # \\ud800"}',
            "headers": {**READER, **JSON},
        },
    ),
    ("syntax", "post", {"json": {"query": "{ whoami {"}, "headers": READER}),
    ("empty id", "post", {"json": {"query": '{ run(id: "") { id } }'}, "headers": READER}),
    ("unknown fragment", "post", {"json": {"query": "{ ...Nope }"}, "headers": READER}),
    ("get", "get", {"params": {"query": "{ whoami { subject } }"}, "headers": READER}),
    ("get deep", "get", {"params": {"query": "{ a }", "variables": "[" * 5000}, "headers": READER}),
]


@pytest.mark.parametrize(("name", "method", "kwargs"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_each_request_is_one_line_written_before_the_answer(
    audited: tuple[TestClient, Path], name: str, method: str, kwargs: dict[str, Any]
) -> None:
    client, log = audited
    before = len(_lines(log))
    response = getattr(client, method)("/graphql", **kwargs)
    assert response.status_code < 500, response.text
    # No flush: the line must already be in the file when the answer arrives.
    lines = _lines(log)
    assert len(lines) == before + 1, (name, lines[before:])
    line = lines[-1]
    answered = response.json()
    assert line["errors"] == sorted({e["extensions"]["code"] for e in answered.get("errors", [])})


def test_a_token_that_grants_no_namespace_is_recorded_by_its_hash(
    audited: tuple[TestClient, Path],
) -> None:
    client, log = audited
    response = client.post(
        "/graphql",
        json={"query": "{ whoami { subject } }"},
        headers={"authorization": f"Bearer {NO_NAMESPACE}"},
    )
    assert response.status_code == 403
    raw = log.read_text().splitlines()[-1]
    line = json.loads(raw)
    assert line["errors"] == ["FORBIDDEN"]
    assert line["identity"]["subject"] == "nobody"
    assert line["identity"]["token_sha256"] == hashlib.sha256(NO_NAMESPACE.encode()).hexdigest()
    assert NO_NAMESPACE not in raw


def test_the_line_keeps_the_text_and_redacts_secret_variables(
    audited: tuple[TestClient, Path],
) -> None:
    client, log = audited
    query = "query Q($n: Int, $apiToken: String) { runs(first: $n) { nodes { id } } }"
    variables = {"n": 2, "apiToken": "s3cr3t", "nested": {"Password": "hunter2", "ok": "x"}}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=READER
    )
    assert response.status_code == 200
    raw = log.read_text().splitlines()[-1]
    line = json.loads(raw)
    assert line["document"] == query
    assert line["document_sha256"] == hashlib.sha256(query.encode()).hexdigest()
    assert line["variables"] == {
        "n": 2,
        "apiToken": "[redacted]",
        "nested": {"Password": "[redacted]", "ok": "x"},
    }
    assert "s3cr3t" not in raw and "hunter2" not in raw


def test_the_redacted_names_are_a_setting(
    tmp_path: Path, settings: Settings, shared: Shared
) -> None:
    api = ApiSettings(audit_log=tmp_path / "audit.jsonl", audit_redact=("runid",))
    with TestClient(create_app(settings, api, shared=shared)) as client:
        client.post(
            "/graphql",
            json={"query": "{ whoami { subject } }", "variables": {"runId": "r", "token": "t"}},
        )
    (line,) = _lines(tmp_path / "audit.jsonl")
    assert line["variables"] == {"runId": "[redacted]", "token": "t"}
