"""``lineage run --snapshot-inputs``: each input artifact's data, snapshotted before its task runs.

As Rok snapshots a pipeline's volumes, this makes the exact bytes a task read
restorable elsewhere. The data is captured at the moment the task is about to
start; the lineage facts are written once the run is recorded and every
artifact has its id.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from lineage.ingest.kfp_local.facts import LocalRun, ObservedArtifact
from lineage.ingest.units import Unit, write_together
from lineage.model import Artifact, KfpType, RunRecord, merge_records
from lineage.settings import Settings
from lineage.snapshots.blobs import BlobStore, open_blob_store
from lineage.snapshots.lineage import SnapshotParts, snapshot_parts
from lineage.snapshots.ops import Created, create
from lineage.store.port import MetadataStore, WriteResult


class InputSnapshots:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._blobs: BlobStore | None = None
        self.taken: dict[str, tuple[ObservedArtifact, Created]] = {}  # by artifact uri
        self.skipped: dict[str, str] = {}  # uri -> why not

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:  # opened on first use: a run without inputs touches nothing
            self._blobs = open_blob_store(self._settings.snapshot_store, self._settings.home)
        return self._blobs

    def take(self, task: str, inputs: list[tuple[str, str, ObservedArtifact]]) -> None:
        for _key, _uid, observed in inputs:
            if observed.uri in self.taken:
                continue  # the same data read by a second task: one snapshot serves both
            path = Path(observed.uri)
            if "://" in observed.uri or not path.exists():
                self.skipped[observed.uri] = f"{task}: not local data ({observed.uri})"
                continue
            self.taken[observed.uri] = (observed, create(path, self.blobs))

    def parts(self, record: RunRecord) -> list[tuple[Artifact, SnapshotParts]]:
        by_uri = {a.uri: a for a in record.artifacts}
        return [
            (by_uri[uri], snapshot_parts(by_uri[uri], created, self.blobs))
            for uri, (_observed, created) in self.taken.items()
            if uri in by_uri
        ]

    def record(self, store: MetadataStore, run: LocalRun, record: RunRecord) -> WriteResult:
        """Write the snapshots and their links, attributed to the run, in one transaction."""
        run_ctx = tuple(c for c in record.contexts if c.type == KfpType.PIPELINE_RUN)
        pieces = [parts.record(artifact, run_ctx) for artifact, parts in self.parts(record)]
        if not pieces:
            return WriteResult()
        label = f"{run.run_id} input snapshots"
        return write_together(store, [Unit(label, label, partial(merge_records, pieces))])

    def summary(self, record: RunRecord) -> list[dict[str, Any]]:
        return [
            {
                "artifact": artifact.id,
                "snapshot": parts.snapshot.id,
                "files": len(parts.created.manifest.files),
            }
            for artifact, parts in self.parts(record)
        ]
