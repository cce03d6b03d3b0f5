"""The MetadataStore port: what the rest of the product may ask of the system of record.

MLMD stays behind this port (KFP is removing MLMD from its own backend, so the
store must stay replaceable). Verbs follow MLMD: ``put_*`` upserts, ``get_*``
returns lists, listing is paged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from lineage.model import Artifact, Context, Event, Execution, RunRecord

if TYPE_CHECKING:
    from lineage.store.rows import MlmdRows

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stamp:
    """When the store recorded a node (MLMD's own clock, milliseconds since the epoch)."""

    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None  # None on the last page
    # The token that resumes right after each item (keyset paging from any item), when
    # the store can give it; empty when it cannot.
    item_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one ``put_run`` changed. A record written twice is all ``unchanged`` the second time."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events_created: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.events_created)


@dataclass(frozen=True, slots=True)
class StoreCounts:
    contexts: int
    executions: int
    artifacts: int
    events: int
    by_type: Mapping[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contexts": self.contexts,
            "executions": self.executions,
            "artifacts": self.artifacts,
            "events": self.events,
            "by_type": dict(sorted(self.by_type.items())),
        }


class MetadataStore(Protocol):
    """The system of record. Implementations: MLMD over SQLite, MySQL or gRPC."""

    @property
    def backend(self) -> str: ...

    @property
    def location(self) -> str:
        """Where the data lives, with no secret in it."""
        ...

    def put_run(self, record: RunRecord) -> WriteResult:
        """Write one record atomically and idempotently (by node id)."""
        ...

    def get_contexts(self, ids: Sequence[str]) -> list[Context]:
        """The contexts with these ids, in input order; unknown ids are left out."""
        ...

    def get_executions(self, ids: Sequence[str]) -> list[Execution]: ...

    def get_artifacts(self, ids: Sequence[str]) -> list[Artifact]: ...

    def list_contexts(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Context]: ...

    def list_executions(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Execution]: ...

    def list_artifacts(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Artifact]: ...

    def get_events(
        self, execution_ids: Sequence[str] = (), artifact_ids: Sequence[str] = ()
    ) -> list[Event]:
        """Every event touching any of these executions or artifacts."""
        ...

    def get_run(self, run_context_id: str) -> RunRecord:
        """A run as written: its context and parents, its attributed nodes, their events."""
        ...

    def stamps(self, ids: Sequence[str]) -> dict[str, Stamp]:
        """When each node (of any class) was recorded, by id."""
        ...

    def counts(self) -> StoreCounts: ...

    def get_state(self, key: str) -> dict[str, Any] | None:
        """Book-keeping (ingest watermarks), kept in the store so it moves with the data."""
        ...

    def put_state(self, key: str, value: Mapping[str, Any]) -> None: ...

    # --- capabilities: what a backend offers beyond the verbs above ---------

    @property
    def supports_row_scan(self) -> bool:
        """True when ``row_scanner`` reads the store's rows in bulk (an MLMD store): what
        the MLMD reader and the Neo4j projection read through."""
        ...

    def row_scanner(self) -> MlmdRows:
        """The bulk row reader over the store (lineage.store.rows), with the store's SQL
        fast paths. Only when ``supports_row_scan``."""
        ...

    def close(self) -> None: ...

    # --- capabilities: declared here, so that no caller probes a store with getattr --

    def deferred_parent_links(self) -> AbstractContextManager[None]:
        """While the block runs, the parent links of new contexts may be held back and
        written in batches (a bulk ingest's speed); a store that cannot batch writes them
        at once. Every link is written when the block ends, and before a read of it."""
        ...

    def execution_row_ids(self, ids: Sequence[str]) -> dict[str, int]:
        """The backend's own row id of each stored execution, by id (KFP's
        ``parent_dag_id`` holds one); empty on a backend without row ids."""
        ...
