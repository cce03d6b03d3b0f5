"""Parent-context links (a run's pipeline and pipeline version), which MLMD keeps apart.

MLMD cannot put parent links inside ``put_lineage_subgraph``, so they follow the
run's transaction. They are derivable (every node is also attributed to the
pipeline context) and writing the same record again adds any link a crash left
out. In a bulk ingest, links may be held back and written in batches
(``deferred``): on a disk a second commit per run nearly doubles the time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import StoreError
from lineage.model import RunRecord

# Links held back inside ``deferred`` before they are flushed.
PENDING_LIMIT = 256


class ParentLinks:
    def __init__(self, mlmd: metadata_store.MetadataStore) -> None:
        self._mlmd = mlmd
        self._defer = 0
        self._pending: dict[tuple[str, str], tuple[int, int]] = {}  # (child, parent) -> rows
        self._pending_parents: dict[str, set[str]] = {}  # child id -> parent ids pending

    def missing(
        self, record: RunRecord, stored_ctx: Mapping[str, pb.Context]
    ) -> list[tuple[str, str]]:
        """The (child, parent) links the record names that the store lacks."""
        links: list[tuple[str, str]] = []
        for ctx in record.contexts:
            if not ctx.parents:
                continue
            have = set(self._pending_parents.get(ctx.id, ()))
            if ctx.id in stored_ctx:
                have |= {
                    p.external_id
                    for p in self._mlmd.get_parent_contexts_by_context(stored_ctx[ctx.id].id)
                }
            links.extend((ctx.id, parent) for parent in ctx.parents if parent not in have)
        return links

    def link(self, links: list[tuple[str, str]], rows: Mapping[str, int]) -> None:
        if not links:
            return
        if self._defer:
            for child, parent in links:
                self._pending[(child, parent)] = (rows[child], rows[parent])
                self._pending_parents.setdefault(child, set()).add(parent)
            if len(self._pending) >= PENDING_LIMIT:
                self.flush()
            return
        self._mlmd.put_parent_contexts(
            [pb.ParentContext(child_id=rows[c], parent_id=rows[p]) for c, p in links]
        )

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Write links in batches while the block runs: every few hundred, before any
        read of the contexts involved, before a state write, and at the end. Nodes and
        events stay one transaction per run; a crash loses only unflushed links."""
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
            if not self._defer:
                self.flush()

    def flush_of(self, ids: Sequence[str]) -> None:
        """Flush first if any of these contexts has a link waiting: a reader sees it."""
        if self._pending_parents and not self._pending_parents.keys().isdisjoint(ids):
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        links = [pb.ParentContext(child_id=c, parent_id=p) for c, p in self._pending.values()]
        self._pending = {}
        self._pending_parents = {}
        try:
            try:
                self._mlmd.put_parent_contexts(links)
            except mlmd_errors.AlreadyExistsError:
                # Another writer linked some meanwhile: one by one, keeping the rest.
                for link in links:
                    with contextlib.suppress(mlmd_errors.AlreadyExistsError):
                        self._mlmd.put_parent_contexts([link])
        except mlmd_errors.StatusError as exc:
            raise StoreError(f"the store refused {len(links)} parent links: {exc}") from exc
