"""Named environments, and what of a plan each one already holds.

An environment (``LINEAGE_ENVIRONMENTS__<NAME>__…``, see ``lineage.settings``) has a
runner, an OCI registry, a store for inputs and snapshots, and a pipeline root. In an
environment:

- an image ``<registry>/<path>@sha256:…`` keeps its repository path under the
  environment's registry (and the registry's own path prefix, if it names one):
  ``docker.io/library/python@sha256:…`` is ``HOST:PORT[/PREFIX]/library/python@sha256:…``;
- an input is held by content in the store, laid out as the snapshot store lays out
  its data: a file digest ``sha256:<hex>`` at ``blobs/sha256/<hex>``, a directory (a
  ``tree`` digest, or a snapshot) as the manifest ``snapshots/<root>.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lineage.errors import ConfigError, LineageError, NotFoundError
from lineage.images.client import RegistryClient
from lineage.images.reference import ImageReference, parse_reference
from lineage.settings import EnvironmentConfig, Settings
from lineage.snapshots.blobs import BlobStore, blob_key, open_blob_store
from lineage.snapshots.ops import manifest_key

PRESENT = "present"
ABSENT = "absent"


def pick_environments(settings: Settings, names: Iterable[str]) -> dict[str, EnvironmentConfig]:
    """The environments named (all when none is), by their lower-case names."""
    configured = {name.lower(): env for name, env in settings.environments.items()}
    wanted = [name.lower() for name in names]
    for name in wanted:
        if name not in configured:
            known = ", ".join(sorted(configured)) or "none"
            raise NotFoundError(
                f"no environment named {name!r} in the settings (configured: {known}); "
                f"set LINEAGE_ENVIRONMENTS__{name.upper()}__REGISTRY and the others"
            )
    return {name: configured[name] for name in (wanted or sorted(configured))}


def target_reference(registry: str, repository: str, digest: str) -> ImageReference:
    """Where an image lives in an environment's registry, by digest."""
    host, _, prefix = registry.strip().strip("/").partition("/")
    if not host:
        raise ConfigError(f"registry {registry!r}: expected host[:port][/path]")
    source = parse_reference(f"{repository}@{digest}")
    path = f"{prefix.strip('/')}/{source.repository}" if prefix.strip("/") else source.repository
    return ImageReference(host, path, None, digest)


def image_presence(
    env: EnvironmentConfig, images: Iterable[Mapping[str, Any]], client: RegistryClient
) -> list[dict[str, Any]]:
    """Each image of a plan: present, absent or unreachable in the environment's registry,
    checked by digest (the manifest's bytes must hash to it)."""
    out: list[dict[str, Any]] = []
    down: str | None = None  # once the registry is unreachable, every image is
    for image in images:
        entry: dict[str, Any] = {
            "repository": image.get("repository"),
            "digest": image.get("digest"),
        }
        out.append(entry)
        if not image.get("digest") or not image.get("repository"):
            entry["state"] = "no digest: it cannot be looked up by content"
            continue
        if env.registry is None:
            entry["state"] = "no registry configured"
            continue
        try:
            target = target_reference(env.registry, str(image["repository"]), str(image["digest"]))
        except LineageError as exc:
            entry["state"] = f"unusable reference: {exc}"
            continue
        entry["target"] = str(target)
        entry["state"] = down or _look_up(client, target)
        if entry["state"].startswith("unreachable"):
            down = entry["state"]
    return out


def _look_up(client: RegistryClient, target: ImageReference) -> str:
    try:
        client.resolve(target)
    except NotFoundError:
        return ABSENT
    except LineageError as exc:
        return f"unreachable: {exc}"
    return PRESENT


def input_presence(
    env: EnvironmentConfig, inputs: Iterable[Mapping[str, Any]], home: Path
) -> list[dict[str, Any]]:
    """Each input of a plan: present or absent by content in the environment's store."""
    items = list(inputs)
    if env.store is None:
        return [{"artifact": i["artifact"], "state": "no store configured"} for i in items]
    try:
        blobs = open_blob_store(env.store, home)
    except LineageError as exc:
        return [{"artifact": i["artifact"], "state": f"unreachable: {exc}"} for i in items]
    return [{"artifact": i["artifact"], "state": _held(blobs, i)} for i in items]


def content_keys(item: Mapping[str, Any]) -> list[str]:
    """The keys under which a store holds an input by content."""
    keys: list[str] = []
    digest = item.get("digest")
    if isinstance(digest, str) and digest.startswith("sha256:"):
        hexdigest = digest.removeprefix("sha256:")
        tree = item.get("digest_kind") == "tree"
        keys.append(manifest_key(hexdigest) if tree else blob_key(hexdigest))
    for snapshot in item.get("snapshots") or []:
        keys.append(manifest_key(str(snapshot.get("root"))))
    return keys


def _held(blobs: BlobStore, item: Mapping[str, Any]) -> str:
    keys = content_keys(item)
    if not keys:
        return "no digest and no snapshot: it cannot be looked up by content"
    try:
        return PRESENT if any(blobs.exists(key) for key in keys) else ABSENT
    except (OSError, LineageError) as exc:
        return f"unreachable: {blobs.location}: {exc}"
