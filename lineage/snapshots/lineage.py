"""Snapshots and content digests as lineage facts.

``snapshot_artifact`` is what ``lineage run --snapshot-inputs`` calls before a task
runs: it snapshots the artifact's data and returns the nodes and events that say so,
following the convention in ``lineage.model`` (a ``lineage.SnapshotExecution`` reads
the artifact and writes the ``lineage.Snapshot``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lineage.digest import content_digest
from lineage.model import (
    SNAPSHOT_OUTPUT_KEY,
    SNAPSHOT_SOURCE_KEY,
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    LineageType,
    RunRecord,
    snapshotting_id,
)
from lineage.snapshots.blobs import BlobStore
from lineage.snapshots.ops import Created, create, manifest_key

# Properties a content digest adds to an artifact.
CONTENT_DIGEST = "content_digest"  # "sha256:<hex>"
CONTENT_DIGEST_KIND = "content_digest_kind"  # "file" (bytes) or "tree" (Merkle root)


@dataclass(frozen=True, slots=True)
class SnapshotParts:
    """The facts one snapshotting adds: write them with the artifact via ``record``."""

    snapshot: Artifact
    execution: Execution
    events: tuple[Event, Event]  # (artifact -> snapshotting INPUT, snapshotting -> snapshot OUTPUT)
    created: Created

    def record(self, artifact: Artifact, contexts: tuple[Context, ...] = ()) -> RunRecord:
        """A record holding the source artifact, the snapshot and the act that links them.

        Pass the run's context to attribute the snapshot to the run, or none to add
        the facts to an artifact already stored.
        """
        return RunRecord(contexts, (self.execution,), (artifact, self.snapshot), self.events)


def snapshot_node(created: Created, blobs: BlobStore) -> Artifact:
    manifest = created.manifest
    props: dict[str, str | int] = {
        "root": manifest.root,
        "files": len(manifest.files),
        "bytes": manifest.size,
        "store": blobs.location,
    }
    if created.names:
        props["names"] = ",".join(created.names)
    return Artifact(
        id=manifest.id,
        type=LineageType.SNAPSHOT,
        uri=f"{blobs.location.rstrip('/')}/{manifest_key(manifest.root)}",
        name=manifest.id,
        properties=props,
    )


def snapshot_record(created: Created, blobs: BlobStore) -> RunRecord:
    """A snapshot made on its own (``lineage snapshot create``), as a lineage node: so
    impact and lineage find it by its id. Recording it again changes nothing (a name
    added since is merged into its ``names``)."""
    return RunRecord(artifacts=(snapshot_node(created, blobs),))


def snapshot_artifact(
    artifact: Artifact, path: Path, blobs: BlobStore, name: str | None = None
) -> SnapshotParts:
    """Snapshot the data of ``artifact`` found at ``path`` (a file or directory).

    Returns the ``lineage.Snapshot`` artifact (id ``snapshot:sha256:<root>``), the
    ``lineage.SnapshotExecution`` (id ``snapshotting:<artifact>-><snapshot>``) and its
    two events: INPUT from the artifact on path ("source",) and OUTPUT to the snapshot
    on path ("snapshot",). Idempotent: the same data yields the same ids, and blobs the
    store already holds are not written again.
    """
    return snapshot_parts(artifact, create(path, blobs, name=name), blobs)


def snapshot_parts(artifact: Artifact, created: Created, blobs: BlobStore) -> SnapshotParts:
    """The lineage facts of a snapshot already taken (``create``) of ``artifact``'s data.

    Apart from ``snapshot_artifact`` so a caller can snapshot data at one moment
    (before a task may touch it) and record the facts later, once the artifact's
    id is known.
    """
    snapshot = snapshot_node(created, blobs)
    execution = Execution(
        id=snapshotting_id(artifact.id, snapshot.id),
        type=LineageType.SNAPSHOT_EXECUTION,
        # No name: MLMD keeps names unique per type, and one artifact may be
        # snapshotted more than once (its id already says which snapshot).
        state=ExecutionState.COMPLETE,
        properties={"source_uri": artifact.uri, "snapshot": snapshot.id},
    )
    events = (
        Event(execution.id, artifact.id, EventType.INPUT, (SNAPSHOT_SOURCE_KEY,)),
        Event(execution.id, snapshot.id, EventType.OUTPUT, (SNAPSHOT_OUTPUT_KEY,)),
    )
    return SnapshotParts(snapshot, execution, events, created)


def with_content_digest(artifact: Artifact, uri: str | None = None) -> Artifact:
    """The artifact with the sha256 of its content (a Merkle root for a directory).

    ``uri`` reads the data from somewhere other than ``artifact.uri`` (a local copy).
    """
    digest = content_digest(uri or artifact.uri)
    props = {**artifact.properties, CONTENT_DIGEST: digest.value, CONTENT_DIGEST_KIND: digest.kind}
    return replace(artifact, properties=props)
