"""Per-request context: the principal, the (scoped) service, and DataLoaders over the store.

Every store and reader call is blocking (MLMD's C++ client, the Neo4j sync driver),
so each runs in a worker thread. The MLMD client is one connection and not safe
to share between threads, so its calls pass one at a time through a capacity
limiter; the event loop never waits on them. DataLoaders batch and cache per
request, so a nested query costs a few store calls, not one per object.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from lineage.api.guards import cursors
from lineage.api.guards.auth import Principal
from lineage.api.guards.limits import Limits
from lineage.model import Artifact, Context, Direction, EdgeKind, Event, Execution, RunRecord
from lineage.query.port import LineageReader
from lineage.query.service import LineageService
from lineage.services.catalog import Catalog
from lineage.services.scope import ScopedReader, Visibility
from lineage.store.port import MetadataStore, Stamp
from lineage.wiring import pinned

R = TypeVar("R")


class Blocking:
    """Runs blocking calls on its own pool of ``capacity`` threads.

    A plain thread pool rather than an event-loop primitive: one store can serve any
    event loop (uvicorn's, a test client's, ``lineage query``'s), and the pool's size
    is the bound. Threads start on first use, not in the constructor.
    """

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="lineage-io")
            return self._pool

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), partial(fn, *args))

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


@dataclass
class Shared:
    """What lives as long as the app: the store, the reader, settings. Built by the factory."""

    store: MetadataStore
    reader: LineageReader
    limits: Limits
    blocking: Blocking  # store calls
    # Reader calls: the reader holds its own connection, so a long walk does not
    # hold up the store reads of other requests.
    reader_blocking: Blocking = field(default_factory=Blocking)
    default_namespace: str = "default"
    # Seals cursors (lineage.api.guards.cursors); random per process unless configured.
    cursor_key: bytes = field(default_factory=cursors.new_key)
    # A stored node id per type, whose visibility an unknown id's lookup decides (and
    # discards) so that it costs what a hidden id's does (lineage.api.types.lookup.decoy).
    decoys: dict[str, str] = field(default_factory=dict)
    # The store as the faces read it; rebuilt from ``store`` by dataclasses.replace too.
    catalog: Catalog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.catalog = Catalog(self.store)


Redact = Callable[[list[Artifact]], Awaitable[list[Artifact]]]


async def _as_stored(items: list[Artifact]) -> list[Artifact]:
    return items


class Loaders:
    def __init__(self, catalog: Catalog, blocking: Blocking, redact: Redact = _as_stored) -> None:
        self.catalog = catalog
        self.blocking = blocking
        # What a scoped principal may read of each artifact (services.scope.redact_snapshot).
        self.redact = redact
        self.contexts = DataLoader(self._contexts)
        self.executions = DataLoader(self._executions)
        self.artifacts = DataLoader(self._artifacts)
        self.events_by_execution = DataLoader(self._events_by_execution)
        self.events_by_artifact = DataLoader(self._events_by_artifact)
        self.runs = DataLoader(self._runs)
        self.stamps = DataLoader(self._stamps)

    async def _contexts(self, ids: Sequence[str]) -> list[Context | None]:
        found = {c.id: c for c in await self.blocking.run(self.catalog.contexts, list(ids))}
        return [found.get(i) for i in ids]

    async def _executions(self, ids: Sequence[str]) -> list[Execution | None]:
        found = {e.id: e for e in await self.blocking.run(self.catalog.executions, list(ids))}
        return [found.get(i) for i in ids]

    async def _artifacts(self, ids: Sequence[str]) -> list[Artifact | None]:
        read = await self.blocking.run(self.catalog.artifacts, list(ids))
        found = {a.id: a for a in await self.redact(read)}
        return [found.get(i) for i in ids]

    async def _events_by_execution(self, ids: Sequence[str]) -> list[list[Event]]:
        events = await self.blocking.run(self.catalog.events, list(ids), ())
        grouped: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            grouped[event.execution].append(event)
        return [grouped.get(i, []) for i in ids]

    async def _events_by_artifact(self, ids: Sequence[str]) -> list[list[Event]]:
        events = await self.blocking.run(self.catalog.events, (), list(ids))
        grouped: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            grouped[event.artifact].append(event)
        return [grouped.get(i, []) for i in ids]

    async def _runs(self, ids: Sequence[str]) -> list[RunRecord | None]:
        # One worker call reads them all, and every node of every run primes the other
        # loaders, so resolving the run's tasks, artifacts and events afterwards costs
        # no further store call.
        records = await self.blocking.run(self.catalog.runs, list(ids))
        shown: list[RunRecord | None] = []
        for record in records:
            if record is not None:
                artifacts = tuple(await self.redact(list(record.artifacts)))
                record = dataclasses.replace(record, artifacts=artifacts)
                self.prime(record)
            shown.append(record)
        return shown

    def prime(self, record: RunRecord) -> None:
        """Primes the node loaders with the run's nodes, which are whole records.

        Never the event loaders: a run record holds only the events between nodes
        attributed to the run, not every event of its executions. An image linked to a
        task later (by pod or registry ingest) is attributed to no run, so priming a
        task's events from its run would hide its image by one path and not another.
        """
        for c in record.contexts:
            self.contexts.prime(c.id, c)
        for e in record.executions:
            self.executions.prime(e.id, e)
        for a in record.artifacts:
            self.artifacts.prime(a.id, a)

    async def _stamps(self, ids: Sequence[str]) -> list[Stamp | None]:
        found = await self.blocking.run(self.catalog.stamps, list(ids))
        return [found.get(i) for i in ids]


@dataclass
class RequestContext:
    shared: Shared
    principal: Principal
    loaders: Loaders
    service: LineageService
    visibility: Visibility | None  # None: the principal sees everything
    reader: LineageReader  # the request's unscoped reader
    extras: dict[str, Any] = field(default_factory=dict)
    _visible: DataLoader[str, bool] | None = None
    _task_runs: DataLoader[str, list[str]] | None = None

    @classmethod
    def build(cls, shared: Shared, principal: Principal) -> RequestContext:
        visibility = None
        # One reader for the whole request: with the automatic backend, the projection
        # or MLMD, whichever is current when the request first reads.
        unscoped = pinned(shared.reader)
        reader: LineageReader = unscoped
        redact: Redact = _as_stored
        if not principal.auditor:
            visibility = scoped = Visibility(unscoped, principal, shared.default_namespace)
            reader = ScopedReader(unscoped, visibility)

            async def redact(items: list[Artifact]) -> list[Artifact]:
                return await shared.reader_blocking.run(scoped.redact, items)

        return cls(
            shared=shared,
            principal=principal,
            loaders=Loaders(shared.catalog, shared.blocking, redact),
            service=LineageService(reader),
            visibility=visibility,
            reader=unscoped,
        )

    @property
    def limits(self) -> Limits:
        return self.shared.limits

    @property
    def cursors(self) -> cursors.Cursors:
        return cursors.Cursors(self.shared.cursor_key, self.principal)

    async def call(self, fn: Callable[..., R], *args: Any) -> R:
        """A blocking store (or catalog) call, in a worker thread."""
        return await self.shared.blocking.run(fn, *args)

    async def read(self, fn: Callable[..., R], *args: Any) -> R:
        """A blocking reader (or service) call, in a worker thread."""
        return await self.shared.reader_blocking.run(fn, *args)

    async def visible(self, ids: Sequence[str]) -> set[str]:
        if self.visibility is None:
            return set(ids)
        if self._visible is None:
            visibility = self.visibility

            async def batch(keys: Sequence[str]) -> list[bool]:
                seen = await self.read(visibility.visible, list(keys))
                return [k in seen for k in keys]

            self._visible = DataLoader(batch)
        verdicts = await self._visible.load_many(list(ids))
        return {i for i, ok in zip(ids, verdicts, strict=True) if ok}

    async def task_runs(self, task: str) -> list[str]:
        """The runs a task is PART_OF, as the lineage reader sees them."""
        if self._task_runs is None:
            reader = self.service.reader

            async def batch(keys: Sequence[str]) -> list[list[str]]:
                step = await self.read(
                    reader.expand, list(keys), Direction.DOWNSTREAM, frozenset({EdgeKind.PART_OF})
                )
                runs: dict[str, list[str]] = defaultdict(list)
                for edge in step.edges:
                    runs[edge.source].append(edge.target)
                return [sorted(runs.get(k, [])) for k in keys]

            self._task_runs = DataLoader(batch)
        return await self._task_runs.load(task)

    async def keep_visible(self, items: Sequence[R], key: Callable[[R], str]) -> list[R]:
        if self.visibility is None:
            return list(items)
        seen = await self.visible([key(i) for i in items])
        return [i for i in items if key(i) in seen]
