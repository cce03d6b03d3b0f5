"""Image migration between two real docker-registry instances on loopback.

Images are built here as OCI layouts and pushed with skopeo; what the target holds is
checked with skopeo and by hashing the blobs it serves, never with our own client.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lineage.errors import BadInputError, NotFoundError
from lineage.images.auth import DockerConfig
from lineage.images.client import RegistryClient
from lineage.rebuild.migrate_errors import MigrationTargetError, TamperedBlobError
from lineage.rebuild.migrate_images import migrate_image, migrate_images
from tests.conftest import require
from tests.rebuild.test_migrate_data import kill_after
from tests.services import (
    RegistryService,
    build_oci_index_layout,
    build_oci_layout,
    free_port,
    layout_digest,
)
from tests.services.registry_auth import (
    TokenIssuer,
    TokenRegistryService,
    docker_config,
    http_server,
)

Registries = tuple[RegistryService, RegistryService]


@pytest.fixture(scope="module")
def registries() -> Iterator[Registries]:
    a, b = RegistryService(), RegistryService()
    try:
        yield require("registry A", a), require("registry B", b)
    finally:
        a.close()
        b.close()


def push(
    registry: RegistryService,
    tmp: Path,
    files: dict[str, bytes],
    *,
    multi: bool = False,
    arch: str = "amd64",
    repository: str | None = None,
) -> tuple[str, str]:
    """Push a fresh image (to a fresh repository by default); returns repository and digest."""
    repository = repository or f"team/img-{uuid.uuid4().hex[:8]}"
    layout = tmp / f"layout-{uuid.uuid4().hex[:8]}"
    if multi:
        build_oci_index_layout(layout, files)
    else:
        build_oci_layout(layout, files, arch=arch)
    registry.push(layout, f"{repository}:{arch}")
    return repository, layout_digest(layout)


def raw(reference: str) -> bytes:
    return subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{reference}"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


def blobs_of(manifest: bytes) -> dict[str, int]:
    doc = json.loads(manifest)
    return {d["digest"]: d["size"] for d in [doc["config"], *doc["layers"]]}


def served_digest(registry: RegistryService, repository: str, digest: str) -> str:
    body = httpx.get(f"{registry.url}/v2/{repository}/blobs/{digest}", timeout=30).content
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def manifest_status(registry: RegistryService, repository: str, digest: str) -> int:
    url = f"{registry.url}/v2/{repository}/manifests/{digest}"
    accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
    return httpx.head(url, headers={"Accept": accept}, timeout=30).status_code


def test_image_lands_by_digest_and_a_second_run_copies_nothing(
    registries: Registries, tmp_path: Path
) -> None:
    a, b = registries
    repository, digest = push(a, tmp_path, {"app/model.bin": os.urandom(1 << 20)})
    blobs = blobs_of(raw(f"{a.address}/{repository}@{digest}"))

    first = migrate_image(
        f"{a.address}/{repository}@{digest}", b.address, insecure={a.address, b.address}
    )

    assert first.target == f"{b.address}/{repository}@{digest}"
    copied = raw(first.target)
    assert f"sha256:{hashlib.sha256(copied).hexdigest()}" == digest
    assert all(served_digest(b, repository, d) == d for d in blobs)
    assert (first.blobs_copied, first.bytes_copied, first.manifests_copied) == (
        2,
        sum(blobs.values()),
        1,
    )

    again = migrate_image(first.source, b.address, insecure={a.address, b.address})
    assert (again.bytes_copied, again.blobs_copied, again.manifests_copied) == (0, 0, 0)
    assert (again.blobs_present, again.manifests_present) == (2, 1)
    assert again.bytes_skipped == sum(blobs.values())


def test_a_multi_arch_index_lands_with_every_platform(
    registries: Registries, tmp_path: Path
) -> None:
    a, b = registries
    repository, digest = push(a, tmp_path, {"run.sh": b"#!/bin/sh\necho hi\n"}, multi=True)

    done = migrate_image(
        f"{a.address}/{repository}@{digest}", b.address, insecure={a.address, b.address}
    )

    index = raw(done.target)
    assert f"sha256:{hashlib.sha256(index).hexdigest()}" == digest
    children = [m["digest"] for m in json.loads(index)["manifests"]]
    for child in children:
        body = raw(f"{b.address}/{repository}@{child}")
        assert f"sha256:{hashlib.sha256(body).hexdigest()}" == child
    # Two configs and one layer shared by both platforms: the layer moves once.
    assert (done.manifests_copied, done.blobs_copied) == (3, 3)


def test_blobs_the_target_repository_holds_are_skipped(
    registries: Registries, tmp_path: Path
) -> None:
    a, b = registries
    files = {"lib/base.so": os.urandom(256 << 10)}
    repository, first = push(a, tmp_path, files, arch="amd64")
    _, second = push(a, tmp_path, files, arch="arm64", repository=repository)  # same layer
    insecure = {a.address, b.address}
    sources = [f"{a.address}/{repository}@{digest}" for digest in (first, second)]

    _, done = migrate_images(sources, b.address, insecure=insecure)

    layer = json.loads(raw(f"{a.address}/{repository}@{second}"))["layers"][0]
    assert (done.blobs_present, done.blobs_copied) == (1, 1)
    assert done.bytes_skipped == layer["size"]
    assert raw(done.target) == raw(f"{a.address}/{repository}@{second}")


def test_within_one_registry_blobs_are_mounted_not_copied(
    registries: Registries, tmp_path: Path
) -> None:
    a, _ = registries
    repository, digest = push(a, tmp_path, {"weights": os.urandom(64 << 10)})

    done = migrate_image(
        f"{a.address}/{repository}@{digest}",
        a.address,
        repository="mirror/copy",
        insecure={a.address},
    )

    assert done.target == f"{a.address}/mirror/copy@{digest}"
    assert (done.blobs_mounted, done.blobs_copied, done.bytes_copied) == (2, 0, 0)
    assert raw(done.target) == raw(f"{a.address}/{repository}@{digest}")


def test_a_tampered_source_blob_is_refused_and_nothing_is_pushed(
    registries: Registries, tmp_path: Path
) -> None:
    a, b = registries
    repository, digest = push(a, tmp_path, {"data.bin": os.urandom(128 << 10)})
    layer = json.loads(raw(f"{a.address}/{repository}@{digest}"))["layers"][0]["digest"]
    hexdigest = layer.removeprefix("sha256:")
    stored = a.home / "storage/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"
    stored.write_bytes(bytes(reversed(stored.read_bytes())))  # same size, other bytes

    with pytest.raises(TamperedBlobError, match=f"for blob {layer}"):
        migrate_image(
            f"{a.address}/{repository}@{digest}", b.address, insecure={a.address, b.address}
        )

    assert httpx.head(f"{b.url}/v2/{repository}/blobs/{layer}", timeout=30).status_code == 404
    assert manifest_status(b, repository, digest) == 404


def test_an_unreachable_target_registry_is_named(registries: Registries, tmp_path: Path) -> None:
    a, _ = registries
    repository, digest = push(a, tmp_path, {"x": b"x"})
    nowhere = f"127.0.0.1:{free_port()}"

    with pytest.raises(
        MigrationTargetError, match=f"cannot reach the target registry {nowhere}"
    ) as caught:
        migrate_image(f"{a.address}/{repository}@{digest}", nowhere, insecure={a.address, nowhere})

    assert caught.value.exit_code == 7


CHILD = """
import sys
from lineage.rebuild.migrate_images import migrate_image, migrate_images

class Handshake:
    def start(self, name, total):
        pass
    def advance(self, size):
        print(size, flush=True)
        sys.stdin.readline()
    def finish(self):
        pass

migrate_image(sys.argv[1], sys.argv[2], insecure=sys.argv[3:], progress=Handshake())
"""


def test_a_copy_killed_mid_layer_completes_on_the_next_run(
    registries: Registries, tmp_path: Path
) -> None:
    a, b = registries
    repository, digest = push(a, tmp_path, {"big.bin": os.urandom(12 << 20)})
    source = f"{a.address}/{repository}@{digest}"
    blobs = blobs_of(raw(source))
    layer_size = max(blobs.values())

    seen = kill_after(
        [sys.executable, "-c", CHILD, source, b.address, a.address, b.address], 4 << 20
    )

    assert seen < layer_size
    assert manifest_status(b, repository, digest) == 404  # nothing a pull could trust
    resumed = migrate_image(source, b.address, insecure={a.address, b.address})
    assert resumed.blobs_present == 1  # the config, copied before the kill
    assert (resumed.blobs_copied, resumed.bytes_copied) == (1, layer_size)
    assert f"sha256:{hashlib.sha256(raw(resumed.target)).hexdigest()}" == digest
    assert all(served_digest(b, repository, d) == d for d in blobs)
    assert migrate_image(source, b.address, insecure={a.address, b.address}).bytes_copied == 0


def test_a_digest_the_source_lacks_is_named(registries: Registries) -> None:
    a, b = registries
    missing = "sha256:" + "0" * 64
    with pytest.raises(NotFoundError, match=f"source registry {a.address} refused manifest"):
        migrate_image(
            f"{a.address}/team/none@{missing}", b.address, insecure={a.address, b.address}
        )
    assert manifest_status(b, "team/none", missing) == 404


@pytest.mark.parametrize("target", ["", "http://127.0.0.1:5000", "host:5000/path", " host"])
def test_a_target_that_is_not_a_registry_host_is_refused(target: str) -> None:
    with pytest.raises(BadInputError, match="is not a host"):
        migrate_image(f"127.0.0.1:1/team/x@sha256:{'0' * 64}", target)


def test_a_target_behind_token_auth_receives_the_image(
    registries: Registries, tmp_path: Path
) -> None:
    a, _ = registries
    repository, digest = push(a, tmp_path, {"model": os.urandom(32 << 10)})
    issuer = TokenIssuer()
    with http_server(issuer.handle) as realm:
        target = TokenRegistryService(issuer, f"{realm}/token")
        try:
            require("token registry", target)
            config = docker_config(
                tmp_path / "docker", target.address, issuer.user, issuer.password
            )
            with RegistryClient(
                docker_config=DockerConfig.load(config), insecure={a.address, target.address}
            ) as client:
                done = migrate_image(
                    f"{a.address}/{repository}@{digest}", target.address, client=client
                )
                again = migrate_image(done.source, target.address, client=client)
            inspected = subprocess.run(
                ["skopeo", "inspect", "--tls-verify=false", "--raw",
                 "--creds", f"{issuer.user}:{issuer.password}", f"docker://{done.target}"],
                capture_output=True, check=True, timeout=60,
            ).stdout  # fmt: skip
        finally:
            target.close()
    assert f"sha256:{hashlib.sha256(inspected).hexdigest()}" == digest
    assert (done.blobs_copied, done.manifests_copied) == (2, 1)
    assert (again.bytes_copied, again.blobs_present) == (0, 2)
