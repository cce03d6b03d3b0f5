"""Choosing and opening a reader: ``mlmd``, ``neo4j``, or ``auto``.

``auto`` answers from Neo4j when LINEAGE_NEO4J__URI is set and Neo4j answers
with a synced projection, and from MLMD otherwise, saying why through ``notice``.
The CLI and the API open readers here, so they fall back the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum

from lineage.errors import UnavailableError
from lineage.graph.connect import graph_from_settings
from lineage.graph.reader import Neo4jReader
from lineage.graph.sync import read_state
from lineage.query.mlmd_reader import MlmdReader
from lineage.query.port import LineageReader
from lineage.query.service import LineageService
from lineage.settings import Settings


class Backend(StrEnum):
    AUTO = "auto"
    MLMD = "mlmd"
    NEO4J = "neo4j"


def _quiet(_: str) -> None:
    pass


@contextmanager
def open_reader(
    settings: Settings, backend: Backend = Backend.AUTO, notice: Callable[[str], None] = _quiet
) -> Iterator[LineageReader]:
    with ExitStack() as stack:
        if backend is Backend.NEO4J or (backend is Backend.AUTO and settings.neo4j is not None):
            graph = graph_from_settings(settings)
            stack.callback(graph.close)
            try:
                state = read_state(graph)
            except UnavailableError as exc:
                if backend is Backend.NEO4J:
                    raise
                notice(f"{exc}; answering from MLMD instead")
            else:
                if state is not None or backend is Backend.NEO4J:
                    yield Neo4jReader(graph)
                    return
                notice(
                    f"Neo4j at {graph.uri} holds no projection yet (run `lineage graph sync`); "
                    "answering from MLMD instead"
                )
        from lineage.store.connect import open_store

        store = open_store(settings)
        stack.callback(store.close)
        yield MlmdReader(store)


@contextmanager
def open_service(
    settings: Settings, backend: Backend = Backend.AUTO, notice: Callable[[str], None] = _quiet
) -> Iterator[LineageService]:
    with open_reader(settings, backend, notice) as reader:
        yield LineageService(reader)
