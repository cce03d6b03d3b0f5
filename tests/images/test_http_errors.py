"""Answers no honest registry gives on demand (429, 5xx, basic-auth challenges), from a
scriptable loopback HTTP server that serves a real OCI manifest and its true digest."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from lineage.errors import NotFoundError, UnavailableError
from lineage.images.auth import DockerConfig
from lineage.images.client import OCI_MANIFEST, RegistryAuthError, RegistryClient
from lineage.images.reference import parse_reference
from tests.services.registry_auth import Reply, docker_config, http_server

MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}
).encode()
DIGEST = f"sha256:{hashlib.sha256(MANIFEST).hexdigest()}"


def manifest_reply() -> Reply:
    return 200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": DIGEST}, MANIFEST


class Script:
    """Fails the first ``failures`` requests with ``status``, then serves the manifest."""

    def __init__(self, failures: int, status: int = 429) -> None:
        self.failures = failures
        self.status = status
        self.seen = 0

    def __call__(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        self.seen += 1
        if self.seen <= self.failures:
            return self.status, {"Retry-After": "0"} if self.status == 429 else {}, b"busy"
        if "/manifests/" not in path:
            return 404, {}, b""
        return manifest_reply()


def client_for(url: str, **kw: object) -> RegistryClient:
    return RegistryClient(insecure={url.removeprefix("http://")}, backoff_s=0.001, **kw)  # type: ignore[arg-type]


def test_429_is_retried_then_succeeds() -> None:
    script = Script(failures=3)
    with http_server(script) as url, client_for(url, retries=4) as client:
        resolved = client.resolve(parse_reference(f"{url.removeprefix('http://')}/a/b:v1"))
    assert resolved.digest == DIGEST
    assert script.seen == 5  # 3 refusals, then HEAD and GET


def test_429_retries_exhausted_is_an_error() -> None:
    script = Script(failures=100)
    with (
        http_server(script) as url,
        client_for(url, retries=2) as client,
        pytest.raises(UnavailableError, match="rate limiting"),
    ):
        client.resolve(parse_reference(f"{url.removeprefix('http://')}/a/b:v1"))
    assert script.seen == 3


def test_5xx_is_retried() -> None:
    script = Script(failures=2, status=503)
    with http_server(script) as url, client_for(url, retries=3) as client:
        assert (
            client.resolve(parse_reference(f"{url.removeprefix('http://')}/a/b:v1")).digest
            == DIGEST
        )
    failing = Script(failures=100, status=500)
    with (
        http_server(failing) as url,
        client_for(url, retries=1) as client,
        pytest.raises(UnavailableError, match="HTTP 500"),
    ):
        client.resolve(parse_reference(f"{url.removeprefix('http://')}/a/b:v1"))


def test_404_is_not_found() -> None:
    with (
        http_server(lambda m, p, h: (404, {}, b"")) as url,
        client_for(url) as client,
        pytest.raises(NotFoundError),
    ):
        client.resolve(parse_reference(f"{url.removeprefix('http://')}/a/b:v1"))


def basic_registry(user: str, password: str) -> Script:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def handle(method: str, path: str, headers: dict[str, str]) -> Reply:
        if headers.get("Authorization") != expected:
            return 401, {"WWW-Authenticate": 'Basic realm="registry"'}, b""
        return manifest_reply()

    return handle  # type: ignore[return-value]


def test_basic_auth_from_docker_config(tmp_path: Path) -> None:
    with http_server(basic_registry("ana", "pw")) as url:
        host = url.removeprefix("http://")
        config = DockerConfig.load(docker_config(tmp_path, host, "ana", "pw"))
        with client_for(url, docker_config=config) as client:
            assert client.resolve(parse_reference(f"{host}/a/b:v1")).digest == DIGEST
        with client_for(url) as client, pytest.raises(RegistryAuthError, match="needs a login"):
            client.resolve(parse_reference(f"{host}/a/b:v1"))
        bad = DockerConfig.load(docker_config(tmp_path / "bad", host, "ana", "nope"))
        with client_for(url, docker_config=bad) as client, pytest.raises(RegistryAuthError):
            client.resolve(parse_reference(f"{host}/a/b:v1"))


def test_get_by_tag_when_head_has_no_digest() -> None:
    """A registry that answers HEAD with no digest header: the GET body's hash is checked
    against the GET's header."""

    def handle(method: str, path: str, headers: dict[str, str]) -> Reply:
        if method == "HEAD":
            return 405, {}, b""
        return manifest_reply()

    with http_server(handle) as url, client_for(url) as client:
        assert (
            client.resolve(parse_reference(f"{url.removeprefix('http://')}/a/b:v1")).digest
            == DIGEST
        )
