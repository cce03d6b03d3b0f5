"""The automatic backend of a long-running server: the projection when it is current,
else ML Metadata, chosen again for every request.

A server lives longer than any one sync, so the choice made at start-up would go stale
with the first ingest. ``AutoReader.pinned()`` gives each request its own reader that
checks freshness (``lineage.graph.freshness``) at its first call, in the caller's worker
thread, and keeps that choice for the rest of the request, so one answer never mixes
the two backends. A pinned reader keeps the capabilities of the reader it chose
(cut levels, native impact pages) and declines them, as the protocols allow, for one
that has none.

The MLMD fallback holds one MLMD connection, which is not safe across threads: its calls
(and the freshness check, which reads the same store) pass one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TypeVar

from lineage.graph.connect import Graph
from lineage.graph.freshness import freshness
from lineage.model import Direction, EdgeKind, LineageNode
from lineage.query.paging import PagedReach, ReachPage
from lineage.query.port import CappedExpand, CappedExpansion, Expansion, LineageReader, Reach
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.types import LineageQuery
from lineage.store.mlmd import MlmdStore

R = TypeVar("R")


class AutoReader:
    """Neo4j while its projection is current with the store, else MLMD."""

    def __init__(self, graph: Graph, store: MlmdStore, notice: Callable[[str], None]) -> None:
        self.graph = graph
        self.store = store
        self.projection = Neo4jReader(graph)
        self.fallback = MlmdReader(store)
        self.notice = notice
        self._store_lock = threading.Lock()
        self._last_reason: str | None = None

    @property
    def backend(self) -> str:
        """The backend it prefers (the server's thread pools are sized for it)."""
        return self.projection.backend

    def choose(self) -> LineageReader:
        """The reader for one answer: blocking (a Neo4j and three MLMD reads)."""
        with self._store_lock:
            state = freshness(self.graph, self.store.mlmd, self.store.location)
        if not state.stale:
            self._last_reason = None
            return self.projection
        reason = state.reason(self.graph.uri)
        if reason != self._last_reason:  # once per change of state, not per request
            self.notice(f"{reason}; answering from MLMD until it catches up")
            self._last_reason = reason
        return self.fallback

    def guard(self, reader: LineageReader) -> threading.Lock | nullcontext[None]:
        return self._store_lock if reader is self.fallback else nullcontext()

    def pinned(self) -> PinnedReader:
        return PinnedReader(self)

    # As a reader itself (outside any request), it chooses on every call.
    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        return self.pinned().nodes(ids)

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        return self.pinned().expand(ids, direction, edge_kinds, as_of_ms)

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        return self.pinned().find_images(digest, as_of_ms)

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        return self.pinned().reach(starts, as_of_ms, budget)

    def around(self, start: str, query: LineageQuery) -> LineageReader:
        return self.pinned().around(start, query)

    def close(self) -> None:
        """The graph and the store belong to whoever opened them."""


class PinnedReader:
    """One request's reader: chosen at its first call, then kept."""

    def __init__(
        self,
        auto: AutoReader,
        chosen: LineageReader | None = None,
        root: LineageReader | None = None,
    ) -> None:
        self.auto = auto
        self._chosen = chosen
        self._root = root  # the reader chosen for the request, which decides the lock
        self._lock = threading.Lock()

    def chosen(self) -> LineageReader:
        with self._lock:
            if self._chosen is None:
                self._chosen = self._root = self.auto.choose()
            return self._chosen

    @contextmanager
    def _using(self) -> Iterator[LineageReader]:
        reader = self.chosen()
        with self.auto.guard(self._root or reader):
            yield reader

    @property
    def backend(self) -> str:
        return self.chosen().backend

    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        with self._using() as reader:
            return reader.nodes(ids)

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        with self._using() as reader:
            return reader.expand(ids, direction, edge_kinds, as_of_ms)

    def expand_capped(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None,
        known: Sequence[str],
        take: int,
    ) -> CappedExpansion | None:
        with self._using() as reader:
            if not isinstance(reader, CappedExpand):
                return None  # the walk then calls expand, as for any reader without it
            return reader.expand_capped(ids, direction, edge_kinds, as_of_ms, known, take)

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        with self._using() as reader:
            return reader.find_images(digest, as_of_ms)

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        with self._using() as reader:
            return reader.reach(starts, as_of_ms, budget)

    def reach_page(
        self,
        starts: Sequence[str],
        after_model: str | None,
        after_run: str | None,
        first: int,
        count: bool,
        budget: int,
        *,
        count_runs: bool = True,
    ) -> ReachPage | None:
        with self._using() as reader:
            if not isinstance(reader, PagedReach):
                return None  # the generic walk through reach
            return reader.reach_page(
                starts, after_model, after_run, first, count, budget, count_runs=count_runs
            )

    def around(self, start: str, query: LineageQuery) -> LineageReader:
        with self._using() as reader:
            near = reader.around(start, query)
        return PinnedReader(self.auto, near, self._root)

    def close(self) -> None:
        """The chosen reader belongs to the server."""
