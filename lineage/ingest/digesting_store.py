"""A MetadataStore that digests the artifacts of every record before writing it.

Ingests write through ``put_run`` only, so wrapping the store lets every source (the
MLMD import, the KFP API) record content digests without knowing about them (see
artifact_digest). Everything else is the wrapped store's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from lineage.ingest.artifact_digest import ArtifactDigester, write_with_digests
from lineage.model import Artifact, Context, Event, Execution, RunRecord
from lineage.store.port import MetadataStore, Page, Stamp, StoreCounts, WriteResult
from lineage.store.rows import MlmdRows


class DigestingStore:
    def __init__(self, inner: MetadataStore, digester: ArtifactDigester) -> None:
        self.inner = inner
        self.digester = digester

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def location(self) -> str:
        return self.inner.location

    def put_run(self, record: RunRecord) -> WriteResult:
        return write_with_digests(self.inner, self.digester, record)

    def get_contexts(self, ids: Sequence[str]) -> list[Context]:
        return self.inner.get_contexts(ids)

    def get_executions(self, ids: Sequence[str]) -> list[Execution]:
        return self.inner.get_executions(ids)

    def get_artifacts(self, ids: Sequence[str]) -> list[Artifact]:
        return self.inner.get_artifacts(ids)

    def list_contexts(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Context]:
        return self.inner.list_contexts(type, page_size, page_token)

    def list_executions(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Execution]:
        return self.inner.list_executions(type, page_size, page_token)

    def list_artifacts(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Artifact]:
        return self.inner.list_artifacts(type, page_size, page_token)

    def get_events(
        self, execution_ids: Sequence[str] = (), artifact_ids: Sequence[str] = ()
    ) -> list[Event]:
        return self.inner.get_events(execution_ids, artifact_ids)

    def get_run(self, run_context_id: str) -> RunRecord:
        return self.inner.get_run(run_context_id)

    def stamps(self, ids: Sequence[str]) -> dict[str, Stamp]:
        return self.inner.stamps(ids)

    def counts(self) -> StoreCounts:
        return self.inner.counts()

    def get_state(self, key: str) -> dict[str, Any] | None:
        return self.inner.get_state(key)

    def put_state(self, key: str, value: Mapping[str, Any]) -> None:
        self.inner.put_state(key, value)

    def close(self) -> None:
        self.inner.close()

    def deferred_parent_links(self) -> AbstractContextManager[None]:
        return self.inner.deferred_parent_links()

    def execution_row_ids(self, ids: Sequence[str]) -> dict[str, int]:
        return self.inner.execution_row_ids(ids)

    @property
    def supports_row_scan(self) -> bool:
        return self.inner.supports_row_scan

    def row_scanner(self) -> MlmdRows:
        return self.inner.row_scanner()
