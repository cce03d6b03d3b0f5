"""Opening what the API serves from: the store, the lineage reader, the limits.

Called by the app's lifespan and by ``lineage query``, never at import. The store
and the reader are opened, once, as every other face opens them (``lineage.wiring``):
Neo4j when configured and its projection is current with the store, MLMD otherwise;
a server chooses again for every request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, TypeVar

from lineage.api.config import ApiSettings
from lineage.api.context import Blocking, Shared
from lineage.api.guards import cursors
from lineage.api.guards.limits import Limits
from lineage.query.port import LineageReader
from lineage.query.readers.auto import AutoReader
from lineage.settings import GrpcStoreConfig, Settings

R = TypeVar("R")


def limits_of(api: ApiSettings) -> Limits:
    return Limits(
        max_depth=api.max_depth,
        max_aliases=api.max_aliases,
        max_tokens=api.max_tokens,
        max_document_chars=api.max_document_chars,
        max_cost=api.max_cost,
        max_page=api.max_page,
        max_lineage_nodes=api.max_lineage_nodes,
        max_scan=api.max_scan,
    )


def cursor_key_of(settings: Settings) -> bytes:
    """From LINEAGE_CURSOR_KEY when set (cursors then survive restarts and are shared by
    every worker); else random for this process."""
    if settings.cursor_key is None:
        return cursors.new_key()
    return cursors.key_from_secret(settings.cursor_key.get_secret_value())


def _log(message: str) -> None:
    # A server has no terminal to note on: which backend answers goes to its log.
    logging.getLogger("lineage.api").warning("%s", message)


class _Guarded(Blocking):
    """Store calls made while holding a lock that the reader's own store calls hold too."""

    def __init__(self, capacity: int, lock: AbstractContextManager[object]) -> None:
        super().__init__(capacity)
        self._guard = lock

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        return await super().run(self._locked, fn, *args)

    def _locked(self, fn: Callable[..., R], *args: Any) -> R:
        with self._guard:
            return fn(*args)


def _pools(reader: LineageReader, capacity: int) -> tuple[Blocking, Blocking]:
    """The pools for store calls and for reader calls. The reader reads the store the
    app reads (opened once), and one MLMD connection is not safe across threads: with
    such a store (``capacity`` 1), an MLMD reader shares the store's one thread, and an
    automatic reader's store lock (its freshness checks, its MLMD fallback) guards the
    app's store calls as well."""
    if reader.backend == "mlmd" and capacity == 1:
        one = Blocking(1)
        return one, one
    if isinstance(reader, AutoReader) and capacity == 1:
        return _Guarded(1, reader.guard(reader.fallback)), Blocking(8)
    return Blocking(capacity), Blocking(8 if reader.backend == "neo4j" else capacity)


@contextmanager
def open_shared(
    settings: Settings, api: ApiSettings, notice: Callable[[str], None] = _log
) -> Iterator[Shared]:
    from lineage.wiring import open_lineage

    with ExitStack() as stack:
        # A server outlives any one sync: the automatic backend chooses per request.
        opened = stack.enter_context(open_lineage(settings, notice=notice, per_request=True))
        # A gRPC client and the Neo4j driver (a session per call) are safe across threads.
        capacity = 8 if isinstance(settings.store, GrpcStoreConfig) else 1
        blocking, reader_blocking = _pools(opened.reader, capacity)
        stack.callback(blocking.close)
        stack.callback(reader_blocking.close)
        yield Shared(
            store=opened.store,
            reader=opened.reader,
            limits=limits_of(api),
            blocking=blocking,
            reader_blocking=reader_blocking,
            default_namespace=api.default_namespace,
            cursor_key=cursor_key_of(settings),
        )
