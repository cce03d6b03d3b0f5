"""The auth matrix: no token, a wrong token, an expired JWT, a token for the wrong
namespace (which finds another namespace's ids no more than ids that do not exist),
and an auditor; and the audit log of every request.

An RSA key and its JWKS are made here; the JWKS is served from a local HTTP server
(and, in one test, read from a file), as an OIDC provider would publish it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.http.app import create_app
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore
from tests.api.conftest import book, codes, gql
from tests.api.world import IMAGE_A, IMAGE_B, TEAM_B, TEAM_B_RUN, World, dataset_of, model_of

ISSUER = "https://issuer.test"
AUDIENCE = "kfp-lineage"
TOKENS = {"tok-local": ["local"], "tok-b": [TEAM_B], "tok-none": []}


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {"good": _key(), "other": _key()}


@pytest.fixture(scope="module")
def jwks(keys: dict[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(keys["good"].public_key()))
    return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}


@pytest.fixture(scope="module")
def jwks_url(jwks: dict[str, Any]) -> Iterator[str]:
    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def make_jwt(
    key: rsa.RSAPrivateKey,
    namespaces: list[str] | None = None,
    scope: str = "",
    expires_in: int = 300,
    audience: str = AUDIENCE,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "someone@example.com",
        "iss": ISSUER,
        "aud": audience,
        "iat": now - 10,
        "exp": now + expires_in,
        "scope": scope,
    }
    if namespaces is not None:
        claims["namespaces"] = namespaces
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def _token_file(path: Path) -> Path:
    lines = ["tokens:"]
    for token, namespaces in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines += [f"  - subject: {token}", f"    sha256: {digest}", f"    namespaces: {namespaces}"]
    lines += ["  - subject: audit", "    token: tok-audit", "    auditor: true"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, shared: Shared, jwks_url: str
) -> Iterator[tuple[TestClient, Path]]:
    base = tmp_path_factory.mktemp("auth")
    api = ApiSettings(
        token_file=_token_file(base / "tokens.yaml"),
        jwks_url=jwks_url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        audit_log=base / "audit.jsonl",
    )
    with TestClient(create_app(settings, api, shared=shared)) as client:
        yield client, base / "audit.jsonl"


def _local_ids(store: MlmdStore, world: World) -> set[str]:
    """Every run and task id of the ``local`` namespace (the kfp.local runs)."""
    ids: set[str] = set()
    for run in world.runs.values():
        record = store.get_run(run)
        ids.add(run)
        ids.update(e.id for e in record.executions)
    return ids


def test_no_token_is_unauthenticated(secured: tuple[TestClient, Path]) -> None:
    client, _ = secured
    answer = gql(client, "{ whoami { subject } }")
    assert answer["_status"] == 401 and codes(answer) == ["UNAUTHENTICATED"]
    assert answer["data"] is None


@pytest.mark.parametrize("header", ["Bearer nope", "Basic dG9rLWxvY2Fs", "Bearer", "tok-local"])
def test_a_wrong_token_is_unauthenticated(secured: tuple[TestClient, Path], header: str) -> None:
    client, _ = secured
    response = client.post(
        "/graphql", json={"query": "{ whoami { subject } }"}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


def test_jwts_that_must_not_pass(
    secured: tuple[TestClient, Path], keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    client, _ = secured
    for token, why in (
        (make_jwt(keys["good"], [TEAM_B], expires_in=-60), "expired"),
        (make_jwt(keys["other"], [TEAM_B]), "Signature"),
        (make_jwt(keys["good"], [TEAM_B], audience="someone-else"), "audience"),
    ):
        answer = gql(client, "{ whoami { subject } }", token=token)
        assert answer["_status"] == 401 and codes(answer) == ["UNAUTHENTICATED"], why
        assert why.lower() in answer["errors"][0]["message"].lower()


def test_a_token_with_no_namespace_is_forbidden(secured: tuple[TestClient, Path]) -> None:
    client, _ = secured
    answer = gql(client, "{ whoami { subject } }", token="tok-none")
    assert answer["_status"] == 403 and codes(answer) == ["FORBIDDEN"]


@pytest.fixture(scope="module")
def team_b_tokens(keys: dict[str, rsa.RSAPrivateKey]) -> list[str]:
    return ["tok-b", make_jwt(keys["good"], [TEAM_B])]


def test_a_namespace_token_never_sees_another_namespace(
    secured: tuple[TestClient, Path], team_b_tokens: list[str], store: MlmdStore, world: World
) -> None:
    client, _ = secured
    hidden = _local_ids(store, world)
    training = world.run_of("training")
    dataset = dataset_of(store, training)
    for token in team_b_tokens:
        who = gql(client, "{ whoami { namespaces auditor } }", token=token)["data"]["whoami"]
        assert who == {"namespaces": [TEAM_B], "auditor": False}
        asked = [
            ("{ runs(first: 50) { nodes { id } } }", {}),
            ('{ artifacts(type: "system.Model", first: 50) { nodes { id producer { id } } } }', {}),
            (book("models_by_image"), {"digest": IMAGE_A}),
            (book("model_inputs"), {"model": world.team_b_model}),
            (book("snapshot_consumers"), {"snapshot": world.snapshot}),
            (book("best_model"), {"pipeline": "sweep", "metric": "accuracy"}),
            (
                "query L($id: ID!) { lineage(id: $id, direction: BOTH, depth: 8) "
                "{ nodes { id node { id } } edges { source target } } }",
                {"id": dataset.id},
            ),
            (
                "query I($id: ID!) { impact(artifactId: $id) { totalCount totalRuns nodes { id "
                "consumers { id } } runs { id tasks { id } } } }",
                {"id": dataset.id},
            ),
            (
                "query A($id: ID!) { artifact(id: $id) { producer { id } "
                "consumers { id run { id } } } }",
                {"id": dataset.id},
            ),
        ]
        for query, variables in asked:
            answer = gql(client, query, variables, token=token)
            assert not answer.get("errors"), (query, answer.get("errors"))
            text = json.dumps(answer["data"])
            leaked = [i for i in hidden if json.dumps(i) in text]
            assert not leaked, (query, leaked[:3])
        impact = gql(client, book("models_by_image"), {"digest": IMAGE_A}, token=token)
        assert impact["data"]["impact"]["totalCount"] == 1  # team-b's own model only
        assert gql(client, "{ runs { nodes { id } } }", token=token)["data"]["runs"]["nodes"] == [
            {"id": world.team_b_run}
        ]


# Every lookup by id of the schema's root fields: (query, the variable holding the id).
BY_ID = {
    "node": ("query Q($id: ID!) { node(id: $id) { id } }", "id"),
    "run": ("query Q($id: ID!) { run(id: $id) { id } }", "id"),
    "pipeline": ("query Q($id: ID!) { pipeline(id: $id) { id } }", "id"),
    "task": ("query Q($id: ID!) { task(id: $id) { id } }", "id"),
    "artifact": ("query Q($id: ID!) { artifact(id: $id) { id } }", "id"),
    "snapshot": ("query Q($id: ID!) { snapshot(id: $id) { id } }", "id"),
    "lineage": ("query Q($id: ID!) { lineage(id: $id) { truncated } }", "id"),
    "impact artifactId": ("query Q($id: ID!) { impact(artifactId: $id) { totalCount } }", "id"),
    "impact snapshotId": ("query Q($id: ID!) { impact(snapshotId: $id) { totalCount } }", "id"),
    "impact imageDigest": (
        "query Q($id: String!) { impact(imageDigest: $id) { totalCount } }",
        "id",
    ),
    "diff to": (book("model_diff"), "to"),
    "diff from": (book("model_diff"), "from"),
    "path to": (book("data_to_model_path"), "to"),
    "path from": (book("data_to_model_path"), "from"),
}
UNKNOWN = {
    "node": "run:no-such-run",
    "run": "run:no-such-run",
    "pipeline": "pipeline:no-such-namespace/no-such-pipeline",
    "task": "task:no-such-run/no-such-task",
    "artifact": "artifact:gs://no-such-bucket/model",
    "snapshot": "snapshot:sha256:" + "0" * 64,
    "lineage": "artifact:gs://no-such-bucket/model",
    "impact artifactId": "artifact:gs://no-such-bucket/data",
    "impact snapshotId": "snapshot:sha256:" + "0" * 64,
    "impact imageDigest": "sha256:" + "0" * 64,
}


def _shape(answer: dict[str, Any], asked_id: str) -> str:
    """The whole answer (status, data, errors with path and code) with the id blanked."""
    return json.dumps(answer, sort_keys=True).replace(asked_id, "<ID>")


def _assert_as_unknown(
    client: TestClient,
    token: str,
    field: str,
    hidden: str,
    other: dict[str, str],
) -> None:
    """Asking for ``hidden`` answers exactly as asking for an id that does not exist."""
    query, name = BY_ID[field]
    unknown = UNKNOWN.get(field, UNKNOWN["artifact"])
    for asked_id in (hidden, unknown):
        assert asked_id not in other.values()
    refused = gql(client, query, {**other, name: hidden}, token=token)
    missing = gql(client, query, {**other, name: unknown}, token=token)
    assert codes(refused) == ["NOT_FOUND"], (field, refused)
    assert hidden in refused["errors"][0]["message"]  # errors name the offending id
    assert _shape(refused, hidden) == _shape(missing, unknown), field


def test_another_namespace_by_id_is_as_unknown_as_a_missing_id(
    secured: tuple[TestClient, Path], team_b_tokens: list[str], store: MlmdStore, world: World
) -> None:
    """A FORBIDDEN here would tell the token that the id exists in another namespace."""
    client, _ = secured
    training = world.run_of("training")
    dataset = dataset_of(store, training)
    local_model = model_of(store, training)
    local_task = next(e.id for e in store.get_run(training).executions)
    hidden_from_b = {
        "node": training,
        "run": training,
        "task": local_task,
        "artifact": local_model.id,
        "snapshot": world.model_snapshot,
        "lineage": local_model.id,
        "impact artifactId": local_model.id,
        "impact snapshotId": world.model_snapshot,
        "impact imageDigest": IMAGE_B,  # only the importer (local) ran it
    }
    for token in team_b_tokens:
        for field, hidden in hidden_from_b.items():
            _assert_as_unknown(client, token, field, hidden, {})
        for field in ("diff to", "diff from"):
            pair = {"from": world.team_b_model, "to": world.team_b_model}
            _assert_as_unknown(client, token, field, local_model.id, pair)
        for field in ("path to", "path from"):
            pair = {"from": dataset.id, "to": world.team_b_model}
            _assert_as_unknown(client, token, field, local_model.id, pair)
    # And the other way round: team-b's pipeline names its namespace; local ones do not.
    team_b_task = next(e.id for e in store.get_run(world.team_b_run).executions)
    hidden_from_local = {
        "pipeline": "pipeline:team-b/scoring",
        "run": world.team_b_run,
        "task": team_b_task,
        "artifact": world.team_b_model,
        "impact artifactId": world.team_b_model,
    }
    for field, hidden in hidden_from_local.items():
        _assert_as_unknown(client, "tok-local", field, hidden, {})


def test_naming_another_namespace_is_forbidden(secured: tuple[TestClient, Path]) -> None:
    """The client named the namespace itself: refusing it tells it nothing new."""
    client, _ = secured
    query = "query R($ns: String) { runs(namespace: $ns) { nodes { id } } }"
    refused = gql(client, query, {"ns": "local"}, token="tok-b")
    assert codes(refused) == ["FORBIDDEN"] and "'local'" in refused["errors"][0]["message"]
    assert codes(gql(client, query, {"ns": "no-such-namespace"}, token="tok-b")) == ["FORBIDDEN"]
    own = gql(client, query, {"ns": TEAM_B}, token="tok-b")
    assert not own.get("errors") and own["data"]["runs"]["nodes"] == [{"id": TEAM_B_RUN}]
    audited = gql(client, query, {"ns": "local"}, token="tok-audit")
    assert not audited.get("errors") and audited["data"]["runs"]["nodes"]


def test_the_other_namespace_sees_its_own_and_not_team_b(
    secured: tuple[TestClient, Path], world: World
) -> None:
    client, _ = secured
    answer = gql(client, book("models_by_image"), {"digest": IMAGE_A}, token="tok-local")
    assert answer["data"]["impact"]["totalCount"] == 4  # training and the three sweep runs
    assert world.team_b_model not in json.dumps(answer["data"])
    runs = gql(client, "{ runs(first: 50) { nodes { id namespace } } }", token="tok-local")
    assert {r["namespace"] for r in runs["data"]["runs"]["nodes"]} == {"local"}


def test_an_auditor_reads_everything(
    secured: tuple[TestClient, Path], keys: dict[str, rsa.RSAPrivateKey], world: World
) -> None:
    client, _ = secured
    for token in ("tok-audit", make_jwt(keys["good"], [], scope="openid lineage:audit")):
        answer = gql(client, book("models_by_image"), {"digest": IMAGE_A}, token=token)
        assert answer["data"]["impact"]["totalCount"] == 5
        runs = gql(client, "{ runs(first: 50) { nodes { id } } }", token=token)
        assert len(runs["data"]["runs"]["nodes"]) == len(world.runs) + 1


def test_every_request_is_audited(secured: tuple[TestClient, Path]) -> None:
    client, log = secured
    before = len(log.read_text().splitlines()) if log.exists() else 0
    gql(client, "query Mine($n: Int) { runs(first: $n) { nodes { id } } }", {"n": 3}, token="tok-b")
    gql(client, "query Nobody { whoami { subject } }")
    assert client.app.state.lineage.audit.flush()  # type: ignore[attr-defined]
    lines = [json.loads(x) for x in log.read_text().splitlines()[before:]]
    assert len(lines) == 2
    mine, nobody = lines
    assert mine["identity"]["subject"] == "tok-b" and mine["identity"]["namespaces"] == [TEAM_B]
    assert mine["operation"] == "Mine" and mine["variables"] == {"n": 3} and mine["errors"] == []
    assert nobody["identity"] is None and nobody["operation"] == "Nobody"
    assert nobody["errors"] == ["UNAUTHENTICATED"]


def test_a_jwks_file_works_as_well(
    tmp_path: Path,
    settings: Settings,
    shared: Shared,
    jwks: dict[str, Any],
    keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    api = ApiSettings(jwks_url=str(tmp_path / "jwks.json"), jwt_audience=AUDIENCE)
    with TestClient(create_app(settings, api, shared=shared, audit=False)) as client:
        good = gql(client, "{ whoami { subject via } }", token=make_jwt(keys["good"], [TEAM_B]))
        assert good["data"]["whoami"] == {"subject": "someone@example.com", "via": "jwt"}
        bad = gql(client, "{ whoami { subject } }", token=make_jwt(keys["other"], [TEAM_B]))
        assert codes(bad) == ["UNAUTHENTICATED"]
