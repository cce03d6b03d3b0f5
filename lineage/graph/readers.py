"""Choosing and opening a reader: ``mlmd``, ``neo4j``, or ``auto``.

``auto`` answers from Neo4j when LINEAGE_NEO4J__URI is set, Neo4j answers, and its
projection is current with the store (``lineage.graph.freshness``); otherwise from MLMD,
saying why through ``notice``. A projection that lags the store (an ingest since the
last ``lineage graph sync``) would answer "no lineage node" for what was just recorded,
or leave it out of an impact, so ``auto`` never answers from one. It does not sync
either: a question is a read, and Neo4j may be a read replica, or be synced by a job of
its own. ``neo4j`` answers from the projection as asked, and says when it lags.

The CLI and the API open readers here, so they choose the same way: a command once,
when it opens its reader; a server for every request (``lineage.graph.auto``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum

from lineage.errors import UnavailableError
from lineage.graph.auto import AutoReader
from lineage.graph.connect import Graph, graph_from_settings
from lineage.graph.freshness import Freshness, freshness
from lineage.graph.reader import Neo4jReader
from lineage.query.port import LineageReader
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.service import LineageService
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore


class Backend(StrEnum):
    AUTO = "auto"
    MLMD = "mlmd"
    NEO4J = "neo4j"


def _quiet(_: str) -> None:
    pass


def _open_store(settings: Settings, stack: ExitStack) -> MlmdStore:
    from lineage.store.connect import open_store

    store = open_store(settings)
    stack.callback(store.close)
    return store


def _state(graph: Graph, store: MlmdStore) -> Freshness:
    return freshness(graph, store.mlmd, store.location)


@contextmanager
def open_reader(
    settings: Settings,
    backend: Backend = Backend.AUTO,
    notice: Callable[[str], None] = _quiet,
    per_request: bool = False,
) -> Iterator[LineageReader]:
    """The reader to answer from. ``per_request`` (a server): with ``auto``, a reader
    that chooses again for every request (``AutoReader.pinned``) instead of once."""
    with ExitStack() as stack:
        if backend is Backend.NEO4J or (backend is Backend.AUTO and settings.neo4j is not None):
            graph = graph_from_settings(settings)
            stack.callback(graph.close)
            store = _open_store(settings, stack)
            try:
                state = _state(graph, store)
            except UnavailableError as exc:
                if backend is Backend.NEO4J:
                    raise
                notice(f"{exc}; answering from MLMD instead")
            else:
                if backend is Backend.NEO4J:
                    if state.stale:
                        notice(f"{state.reason(graph.uri)}; answering from it as asked")
                    yield Neo4jReader(graph)
                    return
                if per_request:
                    yield AutoReader(graph, store, notice)
                    return
                if not state.stale:
                    yield Neo4jReader(graph)
                    return
                notice(f"{state.reason(graph.uri)}; answering from MLMD instead")
            yield MlmdReader(store)
            return
        yield MlmdReader(_open_store(settings, stack))


def pinned(reader: LineageReader) -> LineageReader:
    """The reader for one request: an automatic reader's choice for it, else the reader."""
    return reader.pinned() if isinstance(reader, AutoReader) else reader


@contextmanager
def open_service(
    settings: Settings, backend: Backend = Backend.AUTO, notice: Callable[[str], None] = _quiet
) -> Iterator[LineageService]:
    with open_reader(settings, backend, notice) as reader:
        yield LineageService(reader)
