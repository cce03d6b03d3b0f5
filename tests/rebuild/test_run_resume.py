"""A `lineage rebuild run` cut off by kill -9 during its migration completes on the next run.

The rebuild runs in a child process whose progress waits for an acknowledgement after
each chunk it reports, so the test decides where the migration is when it sends SIGKILL:
once in the middle of copying the input, once in the middle of copying the image.
The environment (D) has a registry and a store of its own, empty at the start.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require
from tests.rebuild.rerun_world import Places, places, raw, steady
from tests.rebuild.test_migrate_data import kill_after
from tests.services import RegistryService

__all__ = ["places", "raw", "steady"]  # module fixtures, shared

CHILD = """
import json, os, sys
os.environ.update(json.loads(sys.argv[1]))
from pathlib import Path
from lineage.rebuild.document import load_plan
from lineage.rebuild.execute import rebuild
from lineage.settings import Settings
from lineage.wiring import open_store

class Handshake:
    def start(self, name, total):
        pass
    def advance(self, size):
        print(size, flush=True)
        sys.stdin.readline()
    def finish(self):
        pass

settings = Settings()
with open_store(settings) as store:
    rebuild(load_plan(Path(sys.argv[2])), "d", settings, store, allow_gaps=True,
            log=sys.stderr, progress=Handshake())
"""


@pytest.fixture(scope="module")
def registry_d() -> Iterator[RegistryService]:
    service = RegistryService()
    try:
        yield require("registry D", service)
    finally:
        service.close()


def _hashes_to_its_name(path: Path) -> bool:
    return hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def test_a_migration_killed_twice_completes_on_the_next_run_with_every_digest_checked(
    places: Places,
    steady: tuple[dict[str, Any], Path],
    raw: Path,
    registry_d: RegistryService,
) -> None:
    _, plan = steady
    store_d = places.base / "store-d"
    env = {
        **places.env,
        "LINEAGE_INSECURE_REGISTRIES": f"{places.a.address},{registry_d.address}",
        "LINEAGE_ENVIRONMENTS__D__REGISTRY": registry_d.address,
        "LINEAGE_ENVIRONMENTS__D__STORE": str(store_d),
        "LINEAGE_ENVIRONMENTS__D__PIPELINE_ROOT": str(places.base / "root-d"),
    }
    argv = [sys.executable, "-c", CHILD, json.dumps(env), str(plan)]
    before = places.runs()
    size = raw.stat().st_size
    blobs = store_d / "blobs" / "sha256"

    kill_after(argv, 1)  # the input copied under a temporary name, not yet hashed
    assert [p for p in blobs.iterdir() if ".tmp-" in p.name]
    assert not [p for p in blobs.iterdir() if ".tmp-" not in p.name]
    kill_after(argv, 2 * size + 1)  # the input in place; the image's first blob on its way
    repository, digest = places.image.split("/", 1)[1].split("@")
    manifest_url = f"{registry_d.url}/v2/{repository}/manifests/{digest}"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    assert httpx.head(manifest_url, headers=accept, timeout=30).status_code == 404
    assert places.runs() == before  # nothing ran

    out = places.lineage("rebuild", "run", str(plan), "--env", "d", "--allow-gaps", "--json", **env)

    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["verdict"] == "identical"
    data, snapshot = result["extra"]["migration"]["data"]
    assert (data["blobs_present"], data["blobs_copied"]) == (1, 0)  # checked, not copied
    assert snapshot["manifests_copied"] + snapshot["manifests_present"] == 1
    (image,) = result["extra"]["migration"]["images"]
    assert image["manifests_copied"] == 1 and image["blobs_copied"] >= 1
    stored = [p for p in blobs.iterdir() if ".tmp-" not in p.name]
    assert stored and all(_hashes_to_its_name(p) for p in stored)
    manifest = httpx.get(manifest_url, headers=accept, timeout=30)
    assert "sha256:" + hashlib.sha256(manifest.content).hexdigest() == digest
    for layer in [manifest.json()["config"], *manifest.json()["layers"]]:
        body = httpx.get(f"{registry_d.url}/v2/{repository}/blobs/{layer['digest']}", timeout=30)
        assert "sha256:" + hashlib.sha256(body.content).hexdigest() == layer["digest"]
