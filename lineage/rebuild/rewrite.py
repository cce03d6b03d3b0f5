"""The spec a rebuild runs: the plan's spec, pointed at what the target environment holds.

- Every container image the plan knows by digest becomes its copy in the target
  registry, ``TARGET_REGISTRY/repo@sha256:…``.
- Every importer of an input (or of an output an earlier run of the plan made) imports
  the URI the target holds it at, as a constant, with the digest it must have in its
  metadata (``expected_digest``).

The rewritten spec is content-addressed like a plan (sha256 of its canonical JSON) and
kept in the target store as a blob under that digest, so a rebuild names exactly what
it ran and anyone can fetch it again.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.errors import BadInputError
from lineage.model import canonical_json, sha256_hex
from lineage.rebuild.migrate_data import blob_location
from lineage.rebuild.stage import image_key
from lineage.rebuild.upstream import IMPORTER
from lineage.snapshots.blobs import BlobStore, blob_key

EXPECTED_DIGEST = "expected_digest"


@dataclass(frozen=True, slots=True)
class Rewritten:
    run: str  # the plan's run id this spec runs again
    spec: dict[str, Any]
    platform_spec: dict[str, Any] | None
    digest: str  # sha256:<hex> of the spec's canonical JSON
    location: str = ""  # where the target store keeps it, once kept

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "digest": self.digest, "location": self.location}


def _executors(spec: dict[str, Any], where: str) -> dict[str, Any]:
    executors = spec.get("deploymentSpec", {}).get("executors")
    if not isinstance(executors, dict):
        raise BadInputError(f"{where}: the spec has no deploymentSpec.executors")
    return executors


def _executor(executors: dict[str, Any], task: Mapping[str, Any], where: str) -> dict[str, Any]:
    label = task.get("executor")
    found = executors.get(label) if isinstance(label, str) else None
    if not isinstance(found, dict):
        raise BadInputError(
            f"{where}: task {task['path']} names executor {label!r}, not in its spec"
        )
    return found


def rewrite_run(
    run: Mapping[str, Any],
    images: Mapping[str, str],
    data: Mapping[str, tuple[str, str]],
) -> Rewritten:
    """The run's spec with images and imported data replaced by their copies in the target.

    ``images`` maps ``repository@digest`` to the target reference; ``data`` maps an
    artifact id to its URI in the target and its digest.
    """
    where = f"run {run['id']}"
    entry = run["pipeline_spec"]
    spec = copy.deepcopy(entry["spec"])
    executors = _executors(spec, where)
    for task in run["tasks"]:
        image = task.get("image") or {}
        key = image_key(image)
        if task.get("kind") == "container" and key in images:
            container = _executor(executors, task, where).get("container")
            if isinstance(container, dict):
                container["image"] = images[str(key)]
        if task.get("type") != IMPORTER:
            continue
        for output in task.get("outputs") or []:
            if output["artifact"] not in data:
                continue
            uri, digest = data[output["artifact"]]
            importer = _executor(executors, task, where).get("importer")
            if not isinstance(importer, dict):
                raise BadInputError(f"{where}: task {task['path']} is not an importer in its spec")
            importer["artifactUri"] = {"constant": uri}
            metadata = dict(importer.get("metadata") or {})
            metadata[EXPECTED_DIGEST] = digest
            importer["metadata"] = metadata
    platform = copy.deepcopy(entry.get("platform_spec"))
    digest = f"sha256:{sha256_hex(canonical_json(spec))}"
    return Rewritten(str(run["id"]), spec, platform, digest)


def keep(store: BlobStore, rewritten: Rewritten) -> Rewritten:
    """Keep the spec in the target store under its digest (verified as it is written)."""
    data = canonical_json(rewritten.spec)
    hexdigest = rewritten.digest.removeprefix("sha256:")
    key = blob_key(hexdigest)
    if not store.exists(key):
        store.put_stream(key, io.BytesIO(data), hexdigest)
    return Rewritten(
        rewritten.run,
        rewritten.spec,
        rewritten.platform_spec,
        rewritten.digest,
        blob_location(store, rewritten.digest),
    )
