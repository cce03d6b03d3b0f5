"""Token auth against a real docker-registry configured with ``auth: token``.

The realm is a loopback token service (tests/services/registry_auth.py) that signs JWTs with
a key whose self-signed certificate is the registry's rootcertbundle, so the registry
itself verifies every token the client presents.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.images.auth import DockerConfig
from lineage.images.client import RegistryAuthError, RegistryClient
from lineage.images.reference import parse_reference
from tests.conftest import unavailable
from tests.services import ServiceError, build_oci_layout, find_binary, layout_digest
from tests.services.registry_auth import (
    TokenIssuer,
    TokenRegistryService,
    docker_config,
    http_server,
)


@pytest.fixture(scope="module")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TokenRegistryService, TokenIssuer, str]]:
    issuer = TokenIssuer()
    with http_server(issuer.handle) as realm:
        registry = TokenRegistryService(issuer, f"{realm}/token")
        try:
            registry.start()
        except ServiceError as exc:
            unavailable("token registry", str(exc))
        try:
            layout = build_oci_layout(tmp_path_factory.mktemp("tok") / "img", {"a": b"secret"})
            subprocess.run(
                [
                    find_binary("skopeo"), "--insecure-policy", "copy",
                    "--dest-tls-verify=false", "--preserve-digests", "--quiet",
                    "--dest-creds", f"{issuer.user}:{issuer.password}",
                    f"oci:{layout}:latest", f"docker://{registry.address}/private/app:v1",
                ],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            yield registry, issuer, layout_digest(layout)
        finally:
            registry.close()


def test_token_auth_resolves(
    token_registry: tuple[TokenRegistryService, TokenIssuer, str], tmp_path: Path
) -> None:
    registry, issuer, digest = token_registry
    config = docker_config(tmp_path, registry.address, issuer.user, issuer.password)
    before = issuer.issued
    with RegistryClient(
        docker_config=DockerConfig.load(config), insecure={registry.address}
    ) as client:
        resolved = client.resolve(parse_reference(f"{registry.address}/private/app:v1"))
        again = client.resolve(parse_reference(f"{registry.address}/private/app:v1"))
    assert resolved.digest == digest == again.digest
    assert issuer.issued - before == 1  # the token is reused for the same scope


def test_docker_config_env_is_used(
    token_registry: tuple[TokenRegistryService, TokenIssuer, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, issuer, digest = token_registry
    docker_config(tmp_path / "dc", registry.address, issuer.user, issuer.password)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    with RegistryClient(docker_config=DockerConfig.load(), insecure={registry.address}) as c:
        assert c.resolve(parse_reference(f"{registry.address}/private/app:v1")).digest == digest


def test_wrong_password_is_a_clear_auth_error(
    token_registry: tuple[TokenRegistryService, TokenIssuer, str], tmp_path: Path
) -> None:
    registry, issuer, _ = token_registry
    config = docker_config(tmp_path, registry.address, issuer.user, "wrong")
    with (
        RegistryClient(docker_config=DockerConfig.load(config), insecure={registry.address}) as c,
        pytest.raises(RegistryAuthError, match=f"refused a token as '{issuer.user}'"),
    ):
        c.resolve(parse_reference(f"{registry.address}/private/app:v1"))


def test_no_credentials_is_a_clear_auth_error(
    token_registry: tuple[TokenRegistryService, TokenIssuer, str], tmp_path: Path
) -> None:
    registry, _, _ = token_registry
    empty = DockerConfig.load(docker_config(tmp_path, "elsewhere:1", "u", "p"))
    with (
        RegistryClient(docker_config=empty, insecure={registry.address}) as c,
        pytest.raises(RegistryAuthError, match="anonymously"),
    ):
        c.resolve(parse_reference(f"{registry.address}/private/app:v1"))
