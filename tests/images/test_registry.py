"""Resolving against a real docker-registry on loopback, images pushed with skopeo.

The expected digests come from ``skopeo inspect`` and from the OCI layouts the tests
build, never from our own client.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.errors import NotFoundError, UnavailableError
from lineage.images.client import DigestMismatchError, RegistryClient
from lineage.images.reference import parse_reference
from tests.services import (
    RegistryService,
    build_oci_index_layout,
    build_oci_layout,
    layout_digest,
)
from tests.services.registry_auth import Reply, forward, http_server

runner = CliRunner()


def skopeo_digest(reference: str) -> str:
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--no-tags", f"docker://{reference}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return str(json.loads(out.stdout)["Digest"])


@pytest.fixture(scope="module")
def pushed(
    registry_service: RegistryService, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("images")
    single = build_oci_layout(base / "single", {"app/model.bin": b"weights-v1"})
    multi = build_oci_index_layout(base / "multi", {"app/run.sh": b"#!/bin/sh\necho hi\n"})
    registry_service.push(single, "team/single:v1")
    registry_service.push(multi, "team/multi:v1")
    return {"single": single, "multi": multi}


@pytest.fixture
def client(registry_service: RegistryService) -> Iterator[RegistryClient]:
    with RegistryClient(insecure={registry_service.address}, backoff_s=0.01) as c:
        yield c


def test_single_arch_digest_equals_skopeo(
    registry_service: RegistryService, pushed: dict[str, Path], client: RegistryClient
) -> None:
    reference = f"{registry_service.address}/team/single:v1"
    resolved = client.resolve(parse_reference(reference))
    assert resolved.digest == skopeo_digest(reference)
    assert resolved.digest == layout_digest(pushed["single"])
    assert resolved.platforms == ()


def test_multi_arch_index_digest_and_platforms(
    registry_service: RegistryService, pushed: dict[str, Path], client: RegistryClient
) -> None:
    reference = f"{registry_service.address}/team/multi:v1"
    resolved = client.resolve(parse_reference(reference))
    assert resolved.digest == skopeo_digest(reference)
    assert resolved.is_index
    raw = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{reference}"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert f"sha256:{hashlib.sha256(raw).hexdigest()}" == resolved.digest
    children = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in json.loads(raw)["manifests"]
    }
    assert sorted(children) == ["linux/amd64", "linux/arm64"]
    assert {p.name: p.digest for p in resolved.platforms} == children


def test_resolve_by_digest_verifies_it(
    registry_service: RegistryService, pushed: dict[str, Path], client: RegistryClient
) -> None:
    digest = layout_digest(pushed["single"])
    resolved = client.resolve(parse_reference(f"{registry_service.address}/team/single@{digest}"))
    assert resolved.digest == digest


def test_cli_resolve_json_lists_platforms(
    registry_service: RegistryService, pushed: dict[str, Path]
) -> None:
    reference = f"{registry_service.address}/team/multi:v1"
    result = runner.invoke(
        app, ["images", "resolve", reference, "--json", "--insecure", registry_service.address]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["digest"] == skopeo_digest(reference)
    assert sorted(p["platform"] for p in doc["platforms"]) == ["linux/amd64", "linux/arm64"]


def test_insecure_from_settings(
    registry_service: RegistryService, pushed: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGE_INSECURE_REGISTRIES", f"other:1,{registry_service.address}")
    reference = f"{registry_service.address}/team/single:v1"
    result = runner.invoke(app, ["images", "resolve", reference])
    assert result.exit_code == 0, result.output
    assert skopeo_digest(reference) in result.stdout


def test_unknown_manifest_is_not_found(
    registry_service: RegistryService, pushed: dict[str, Path], client: RegistryClient
) -> None:
    with pytest.raises(NotFoundError, match="no such manifest"):
        client.resolve(parse_reference(f"{registry_service.address}/team/single:nope"))
    result = runner.invoke(
        app,
        ["images", "resolve", f"{registry_service.address}/team/absent:v1",
         "--insecure", registry_service.address],
    )  # fmt: skip
    assert result.exit_code == NotFoundError.exit_code
    assert "team/absent:v1" in result.output


def test_unknown_registry_host_is_unavailable() -> None:
    with RegistryClient() as client, pytest.raises(UnavailableError, match="cannot reach"):
        client.resolve(parse_reference("no-such-registry.invalid/team/app:v1"))


def test_tampered_manifest_is_rejected_and_nothing_stored(
    registry_service: RegistryService, pushed: dict[str, Path], tmp_path: Path
) -> None:
    """A loopback proxy in front of the real registry flips one byte of every manifest
    body and keeps the registry's Docker-Content-Digest header."""

    def tamper(method: str, path: str, headers: dict[str, str]) -> Reply:
        status, out, body = forward(registry_service.url, method, path, headers)
        if method == "GET" and "/manifests/" in path and body:
            body = body.replace(b'"schemaVersion":2', b'"schemaVersion":3', 1)
        return status, out, body

    with http_server(tamper) as proxy:
        host = proxy.removeprefix("http://")
        with RegistryClient(insecure={host}) as client, pytest.raises(DigestMismatchError):
            client.resolve(parse_reference(f"{host}/team/single:v1"))
        env = {"LINEAGE_HOME": str(tmp_path / "home")}
        _record_task(tmp_path / "home", f"{host}/team/single:v1")
        result = runner.invoke(
            app, ["images", "resolve", "--all", "--json", "--insecure", host], env=env
        )
    assert result.exit_code != 0
    assert "hashes to" in result.output
    from lineage.store.connect import open_sqlite

    store = open_sqlite(tmp_path / "home" / "mlmd.sqlite")
    try:
        assert store.list_artifacts(type="lineage.Image").items == []
        assert store.get_events(execution_ids=["task:r1/train"]) == []
    finally:
        store.close()


def _record_task(home: Path, image: str, task: str = "train") -> None:
    from lineage.model import Context, Execution, KfpType, RunRecord
    from lineage.store.connect import open_sqlite

    store = open_sqlite(home / "mlmd.sqlite")
    try:
        store.put_run(
            RunRecord(
                contexts=(Context("run:r1", KfpType.PIPELINE_RUN, "r1"),),
                executions=(
                    Execution(
                        f"task:r1/{task}",
                        KfpType.CONTAINER_EXECUTION,
                        properties={"task_name": task, "image": image},
                    ),
                ),
            )
        )
    finally:
        store.close()


def test_manifest_body_hash_is_the_digest(
    registry_service: RegistryService, pushed: dict[str, Path], client: RegistryClient
) -> None:
    # The registry's own bytes hash to what the client reports (no re-encoding anywhere).
    resolved = client.resolve(parse_reference(f"{registry_service.address}/team/single:v1"))
    blob = pushed["single"] / "blobs" / "sha256" / resolved.digest.removeprefix("sha256:")
    assert f"sha256:{hashlib.sha256(blob.read_bytes()).hexdigest()}" == resolved.digest
