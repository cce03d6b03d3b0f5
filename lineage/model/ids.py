"""Node identities: derived from the identity of the source, never from an MLMD row id.

Re-ingesting a source yields the same ids. The id is the MLMD ``external_id`` and the
Neo4j key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# --- identities ------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of a value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def spec_id(spec: Mapping[str, Any]) -> str:
    """A pipeline version is its spec: the sha256 of the spec's canonical JSON."""
    return f"spec:sha256:{sha256_hex(canonical_json(spec))}"


def pipeline_id(name: str, namespace: str | None = None) -> str:
    return f"pipeline:{namespace}/{name}" if namespace else f"pipeline:{name}"


def run_id(run: str) -> str:
    return f"run:{run}"


def recurring_run_id(recurring_run: str) -> str:
    """A KFP recurring run, by the API's ``recurring_run_id``."""
    return f"recurring-run:{recurring_run}"


def task_id(run: str, path: str) -> str:
    """A task inside a run; ``path`` carries nesting and loop iterations, e.g. ``loop/train[2]``."""
    return f"task:{run}/{path}"


def artifact_id(uri: str, qualifier: str | None = None) -> str:
    """An artifact is named by its URI; KFP writes each output to its own URI.

    ``qualifier`` tells apart two artifacts a source recorded at one URI
    (an importer with ``reimport=True`` does this).
    """
    return f"artifact:{uri}#{qualifier}" if qualifier else f"artifact:{uri}"


def image_id(repository: str, digest: str) -> str:
    return f"image:{repository}@{digest}"


def snapshot_id(root_hex: str) -> str:
    return f"snapshot:sha256:{root_hex}"


def snapshotting_id(artifact: str, snapshot: str) -> str:
    return f"snapshotting:{artifact}->{snapshot}"
