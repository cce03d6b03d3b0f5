"""The one place that opens things: the store, the lineage reader and the service, from
settings. The CLI, the API, the demo and the benchmarks open them here, so they open
and choose alike, and a store is opened once: the MLMD reader and the freshness check
of ``auto`` read the very store the caller writes and reads.

Choosing a reader: ``mlmd``, ``neo4j``, or ``auto``. ``auto`` answers from Neo4j when
LINEAGE_NEO4J__URI is set, Neo4j answers, and its projection is current with the store
(``lineage.graph.freshness``); otherwise from MLMD, saying why through ``notice``. A
projection that lags the store (an ingest since the last ``lineage graph sync``) would
answer "no lineage node" for what was just recorded, or leave it out of an impact, so
``auto`` never answers from one. It does not sync either: a question is a read, and
Neo4j may be a read replica, or be synced by a job of its own. ``neo4j`` answers from
the projection as asked, and says when it lags. A command chooses once, when it opens
its reader; a server for every request (``lineage.query.readers.auto``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum

from lineage.errors import UnavailableError
from lineage.graph.connect import Graph, graph_from_settings
from lineage.graph.freshness import freshness
from lineage.query.port import LineageReader
from lineage.query.readers.auto import AutoReader
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore


class Backend(StrEnum):
    AUTO = "auto"
    MLMD = "mlmd"
    NEO4J = "neo4j"


def _quiet(_: str) -> None:
    pass


@contextmanager
def open_store(settings: Settings) -> Iterator[MlmdStore]:
    """The metadata store the settings name, closed on leaving."""
    from lineage.store.connect import open_store as connect

    store = connect(settings)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def open_graph(settings: Settings) -> Iterator[Graph]:
    """The Neo4j projection the settings name (a ConfigError when none is), closed on leaving."""
    graph = graph_from_settings(settings)
    try:
        yield graph
    finally:
        graph.close()


@dataclass(frozen=True, slots=True)
class Opened:
    """A store and the reader that answers over it (an MLMD reader reads this store)."""

    store: MlmdStore
    reader: LineageReader

    @property
    def service(self) -> LineageService:
        return LineageService(self.reader)


@contextmanager
def open_lineage(
    settings: Settings,
    backend: Backend = Backend.AUTO,
    notice: Callable[[str], None] = _quiet,
    per_request: bool = False,
) -> Iterator[Opened]:
    """The store, once, and the reader to answer from. ``per_request`` (a server): with
    ``auto``, a reader that chooses again for every request (``AutoReader.pinned``)
    instead of once."""
    with ExitStack() as stack:
        store = stack.enter_context(open_store(settings))
        yield Opened(store, _reader(settings, store, stack, backend, notice, per_request))


def _reader(
    settings: Settings,
    store: MlmdStore,
    stack: ExitStack,
    backend: Backend,
    notice: Callable[[str], None],
    per_request: bool,
) -> LineageReader:
    if backend is Backend.MLMD or (backend is Backend.AUTO and settings.neo4j is None):
        return MlmdReader(store)
    graph = stack.enter_context(open_graph(settings))
    try:
        state = freshness(graph, store.mlmd, store.location)
    except UnavailableError as exc:
        if backend is Backend.NEO4J:
            raise
        notice(f"{exc}; answering from MLMD instead")
        return MlmdReader(store)
    if backend is Backend.NEO4J:
        if state.stale:
            notice(f"{state.reason(graph.uri)}; answering from it as asked")
        return Neo4jReader(graph)
    if per_request:
        return AutoReader(graph, store, notice)
    if not state.stale:
        return Neo4jReader(graph)
    notice(f"{state.reason(graph.uri)}; answering from MLMD instead")
    return MlmdReader(store)


@contextmanager
def open_reader(
    settings: Settings,
    backend: Backend = Backend.AUTO,
    notice: Callable[[str], None] = _quiet,
    per_request: bool = False,
) -> Iterator[LineageReader]:
    """The reader alone (over a store of its own, closed with it)."""
    with open_lineage(settings, backend, notice, per_request) as opened:
        yield opened.reader


def pinned(reader: LineageReader) -> LineageReader:
    """The reader for one request: an automatic reader's choice for it, else the reader."""
    return reader.pinned() if isinstance(reader, AutoReader) else reader


@contextmanager
def open_service(
    settings: Settings, backend: Backend = Backend.AUTO, notice: Callable[[str], None] = _quiet
) -> Iterator[LineageService]:
    with open_lineage(settings, backend, notice) as opened:
        yield opened.service
