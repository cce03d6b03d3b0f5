"""Stage a plan in its target environment: every input, snapshot and image, by content.

Inputs go first: each input's bytes are hashed as they are copied (``migrate_inputs``),
and one that no longer matches the digest the plan names is refused, naming the input,
before any image moves and before anything runs. Then the snapshots taken of the
inputs, from the snapshot store that holds them; then every image by digest into the
target registry. Each step is resumable: what the target holds (and hashes to its name)
is not copied again, so a staging cut off at any point completes on the next run.

What a rebuild reads in the target comes out of it: the URI an importer of each input
names, and the reference of each image in the target registry.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage.errors import ConfigError
from lineage.images.auth import DockerConfig
from lineage.images.client import RegistryClient
from lineage.rebuild.environments import target_reference
from lineage.rebuild.migrate_data import (
    blob_location,
    migrate_inputs,
    migrate_snapshots,
)
from lineage.rebuild.migrate_errors import TamperedBlobError
from lineage.rebuild.migrate_images import migrate_image
from lineage.rebuild.progress import Progress
from lineage.settings import EnvironmentConfig, Settings
from lineage.snapshots import ops
from lineage.snapshots.blobs import BlobStore, open_blob_store


@dataclass(frozen=True, slots=True)
class Staged:
    # "repository@digest" of each image the plan names by digest -> its target reference
    images: dict[str, str]
    # the original artifact id of each input -> (its URI in the target, its digest)
    inputs: dict[str, tuple[str, str]]
    caveats: tuple[str, ...]
    report: dict[str, Any] = field(default_factory=dict)  # what each migration did


def image_key(image: Mapping[str, Any]) -> str | None:
    """How a plan's image is looked up among the staged ones: by repository and digest."""
    repository, digest = image.get("repository"), image.get("digest")
    return f"{repository}@{digest}" if repository and digest else None


def target_store(name: str, env: EnvironmentConfig, home: Path) -> BlobStore:
    if not env.store:
        raise ConfigError(
            f"environment {name!r} has no store (set LINEAGE_ENVIRONMENTS__{name.upper()}__STORE)"
        )
    return open_blob_store(env.store, home)


def pipeline_root(name: str, env: EnvironmentConfig) -> Path:
    if not env.pipeline_root:
        raise ConfigError(
            f"environment {name!r} has no pipeline root "
            f"(set LINEAGE_ENVIRONMENTS__{name.upper()}__PIPELINE_ROOT)"
        )
    return Path(env.pipeline_root).expanduser()


def stage(
    plan: Mapping[str, Any],
    name: str,
    env: EnvironmentConfig,
    settings: Settings,
    progress: Progress | None = None,
) -> Staged:
    """Migrate the plan's inputs, snapshots and images into environment ``name``."""
    home = settings.home.expanduser()
    store = target_store(name, env, home)
    root = pipeline_root(name, env)
    caveats: list[str] = []
    inputs, data = _stage_inputs(plan, store, root, home, caveats, progress)
    images, moved = _stage_images(plan, name, env, settings, caveats, progress)
    report = {"data": data, "images": moved}
    return Staged(images, inputs, tuple(caveats), report)


def _stage_inputs(
    plan: Mapping[str, Any],
    store: BlobStore,
    root: Path,
    home: Path,
    caveats: list[str],
    progress: Progress | None,
) -> tuple[dict[str, tuple[str, str]], list[dict[str, Any]]]:
    staged: dict[str, tuple[str, str]] = {}
    report: list[dict[str, Any]] = []
    for item in plan.get("inputs") or []:
        artifact, uri, digest = item["artifact"], str(item["uri"]), item.get("digest")
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            caveats.append(f"input {uri} has no content digest: read where it was, not migrated")
            continue
        try:
            done = migrate_inputs([(uri, digest)], store, progress=progress)
        except TamperedBlobError as exc:
            raise TamperedBlobError(
                f"input {artifact} ({uri}) no longer matches its digest {digest}; refused "
                f"before anything ran: {exc}"
            ) from exc
        report.append({"artifact": artifact, **done.as_dict()})
        for snapshot in item.get("snapshots") or []:
            # The snapshot store the snapshot was taken into ($LINEAGE_HOME/snapshots if unnamed).
            source = open_blob_store(snapshot.get("store") or None, home)
            moved = migrate_snapshots([str(snapshot["root"])], source, store, progress=progress)
            report.append({"snapshot": snapshot["id"], **moved.as_dict()})
        hexdigest = digest.removeprefix("sha256:")
        if item.get("digest_kind") == "tree":
            where = _restored(store, hexdigest, root / "inputs" / hexdigest)
            staged[artifact] = (str(where), digest)
        else:
            staged[artifact] = (blob_location(store, digest), digest)
    return staged, report


def _restored(store: BlobStore, root_hex: str, dest: Path) -> Path:
    """A directory input, written out of the target's snapshot where a local run reads it.

    Kept between rebuilds, and checked against the snapshot each time: a damaged copy is
    written again."""
    if dest.is_dir() and ops.verify(store, root_hex, dest).ok:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    ops.restore(store, root_hex, dest)
    return dest


def _stage_images(
    plan: Mapping[str, Any],
    name: str,
    env: EnvironmentConfig,
    settings: Settings,
    caveats: list[str],
    progress: Progress | None,
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    images = [i for i in plan.get("images") or [] if image_key(i)]
    for image in plan.get("images") or []:
        if not image_key(image):
            caveats.append(f"image {image.get('reference')} is known only by tag: not migrated")
    if not images:
        return {}, []
    if not env.registry:
        raise ConfigError(
            f"environment {name!r} has no registry "
            f"(set LINEAGE_ENVIRONMENTS__{name.upper()}__REGISTRY)"
        )
    client = RegistryClient(
        docker_config=DockerConfig.load(None), insecure=settings.insecure_registries
    )
    staged: dict[str, str] = {}
    report: list[dict[str, Any]] = []
    with client:
        for image in images:
            key = str(image_key(image))
            target = target_reference(env.registry, str(image["repository"]), image["digest"])
            done = migrate_image(
                key, target.registry, repository=target.repository, client=client, progress=progress
            )
            staged[key] = done.target
            report.append(done.as_dict())
    return staged, report
