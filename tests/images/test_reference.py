"""Reference, config and challenge parsing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lineage.errors import BadInputError, ConfigError
from lineage.images.auth import DockerConfig, parse_challenge
from lineage.images.reference import parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("python", "docker.io/library/python", "latest", None),
        ("python:3.11", "docker.io/library/python", "3.11", None),
        ("bitnami/redis:7", "docker.io/bitnami/redis", "7", None),
        ("docker.io/library/python@" + DIGEST, "docker.io/library/python", None, DIGEST),
        ("localhost:5000/a/b:v1", "localhost:5000/a/b", "v1", None),
        ("gcr.io/proj/img:v1@" + DIGEST, "gcr.io/proj/img", "v1", DIGEST),
        ("docker-pullable://python@" + DIGEST, "docker.io/library/python", None, DIGEST),
        ("127.0.0.1:5000/x", "127.0.0.1:5000/x", "latest", None),
    ],
)
def test_parse_reference(text: str, name: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)


@pytest.mark.parametrize("text", ["", "Python:3", "a/b@sha256:short", "a/b:bad tag"])
def test_bad_reference(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_reference(text)


def test_docker_config_forms(tmp_path: Path) -> None:
    hub = base64.b64encode(b"hubuser:hubpw").decode()
    doc = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": hub},
            "reg.example:5000": {"username": "u", "password": "p"},
            "helper-only.example": {},
        },
        "credsStore": "desktop",
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    config = DockerConfig.load(path)
    hub_creds = config.lookup("docker.io")
    reg_creds = config.lookup("reg.example:5000")
    assert hub_creds is not None and (hub_creds.username, hub_creds.password) == (
        "hubuser",
        "hubpw",
    )
    assert reg_creds is not None and reg_creds.username == "u"
    assert config.lookup("helper-only.example") is None


def test_docker_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        DockerConfig.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"auths": {"r": {"auth": "%%%"}}}')
    with pytest.raises(ConfigError, match="not base64"):
        DockerConfig.load(bad)


def test_parse_challenge() -> None:
    header = (
        'Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"'
    )
    challenge = parse_challenge(header)
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "registry",
        "scope": "repository:a/b:pull",
    }
