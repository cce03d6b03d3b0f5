"""Opening what the API serves from: the store, the lineage reader, the limits.

Called by the app's lifespan and by ``lineage query``, never at import. The
reader is chosen as every other face chooses it (``lineage.graph.readers``):
Neo4j when configured and its projection is current with the store, MLMD otherwise;
a server chooses again for every request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from lineage.api import cursors
from lineage.api.config import ApiSettings
from lineage.api.context import Blocking, Shared
from lineage.api.limits import Limits
from lineage.settings import GrpcStoreConfig, Settings


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


@contextmanager
def open_shared(
    settings: Settings, api: ApiSettings, notice: Callable[[str], None] = _log
) -> Iterator[Shared]:
    from lineage.store.connect import open_store
    from lineage.wiring import open_reader

    with ExitStack() as stack:
        store = open_store(settings)
        stack.callback(store.close)
        # A server outlives any one sync: the automatic backend chooses per request.
        reader = stack.enter_context(open_reader(settings, notice=notice, per_request=True))
        # One MLMD connection is not safe across threads; a gRPC client and the Neo4j
        # driver (a session per call) are.
        capacity = 8 if isinstance(settings.store, GrpcStoreConfig) else 1
        shared = Shared(
            store=store,
            reader=reader,
            limits=limits_of(api),
            blocking=Blocking(capacity),
            reader_blocking=Blocking(8 if reader.backend == "neo4j" else capacity),
            default_namespace=api.default_namespace,
            cursor_key=cursor_key_of(settings),
        )
        stack.callback(shared.blocking.close)
        stack.callback(shared.reader_blocking.close)
        yield shared
