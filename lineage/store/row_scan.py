"""The one way to read MLMD rows in bulk: chunked reads by id, events of ids, listings.

Every bulk reader of MLMD builds on this: the store adapter (lineage.store.mlmd), the
row scanner that applies the row rules (lineage.store.rows, which the projection and
the MLMD reader use) and the MLMD ingest source (lineage.ingest.kfp_mlmd.read). Protos in,
protos out: what a row means is the caller's business. Many ids go in one call, split
into chunks MLMD accepts, so a walk costs a few calls per level, not one per node.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeAlias, TypeVar

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import BadInputError
from lineage.store.port import Page

T = TypeVar("T")
Cls = Literal["context", "execution", "artifact"]
Order = Literal["id", "update", "oldest"]
CLASSES: tuple[Cls, ...] = ("context", "execution", "artifact")
# MLMD's gRPC server caps a message at 4 MiB by default; 500 ids stay far below it.
CHUNK = 500
# The raw MLMD client (SQLite, MySQL or gRPC), for the modules that hold one.
MlmdClient: TypeAlias = metadata_store.MetadataStore
CLIENT_CLASS: type = metadata_store.MetadataStore  # for isinstance: MLMD ships no types
NotFound = mlmd_errors.NotFoundError
StatusError = mlmd_errors.StatusError


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def list_options(
    query: str | None = None, limit: int | None = None, by: Order | None = None
) -> Any:
    """MLMD's listing options: in MLMD's own order, by row id ascending (``"id"``), or by
    update time, newest first (``"update"``) or oldest first (``"oldest"``; MLMD breaks
    ties by row id)."""
    if by is None:
        return metadata_store.ListOptions(limit=limit, filter_query=query)
    field = (
        metadata_store.OrderByField.ID if by == "id" else metadata_store.OrderByField.UPDATE_TIME
    )
    return metadata_store.ListOptions(
        limit=limit, order_by=field, is_asc=by != "update", filter_query=query
    )


class RowScan:
    """Bulk reads over a raw MLMD client, by row class."""

    def __init__(self, mlmd: MlmdClient) -> None:
        self.mlmd = mlmd

    # --- by id ---------------------------------------------------------------

    def by_rows(self, cls: Cls, rows: Sequence[int], missing_ok: bool = False) -> list[Any]:
        """Rows by MLMD row id, chunk by chunk in the order given. ``missing_ok``: a chunk
        MLMD answers NotFound for is read as empty rather than raised."""
        fetch = {
            "context": self.mlmd.get_contexts_by_id,
            "execution": self.mlmd.get_executions_by_id,
            "artifact": self.mlmd.get_artifacts_by_id,
        }[cls]
        out: list[Any] = []
        for chunk in chunks(rows):
            if missing_ok:
                with contextlib.suppress(NotFound):
                    out.extend(fetch(chunk))
            else:
                out.extend(fetch(chunk))
        return out

    def by_external_ids(self, cls: Cls, ids: Sequence[str]) -> list[Any]:
        """Rows by external id; unknown ids are left out."""
        fetch = {
            "context": self.mlmd.get_contexts_by_external_ids,
            "execution": self.mlmd.get_executions_by_external_ids,
            "artifact": self.mlmd.get_artifacts_by_external_ids,
        }[cls]
        out: list[Any] = []
        for chunk in chunks(ids):
            # MLMD raises NotFound rather than return an empty list.
            with contextlib.suppress(NotFound):
                out.extend(fetch(chunk))
        return out

    # --- events --------------------------------------------------------------

    def events_of_executions(self, rows: Sequence[int]) -> list[pb.Event]:
        return self._events(self.mlmd.get_events_by_execution_ids, rows)

    def events_of_artifacts(self, rows: Sequence[int]) -> list[pb.Event]:
        return self._events(self.mlmd.get_events_by_artifact_ids, rows)

    @staticmethod
    def _events(fetch: Callable[[list[int]], list[Any]], rows: Sequence[int]) -> list[Any]:
        out: list[Any] = []
        for chunk in chunks(rows):
            out.extend(fetch(chunk))
        return out

    # --- contexts, their members and their links ------------------------------

    def parents(self, context: int) -> list[pb.Context]:
        return list(self.mlmd.get_parent_contexts_by_context(context))

    def children(self, context: int) -> list[pb.Context]:
        return list(self.mlmd.get_children_contexts_by_context(context))

    def executions_of_context(self, context: int) -> list[pb.Execution]:
        return list(self.mlmd.get_executions_by_context(context))

    def artifacts_of_context(self, context: int) -> list[pb.Artifact]:
        return list(self.mlmd.get_artifacts_by_context(context))

    def contexts_of_execution(self, row: int) -> list[pb.Context]:
        return list(self.mlmd.get_contexts_by_execution(row))

    def contexts_of_artifact(self, row: int) -> list[pb.Context]:
        return list(self.mlmd.get_contexts_by_artifact(row))

    def artifacts_at(self, uri: str) -> list[pb.Artifact]:
        return list(self.mlmd.get_artifacts_by_uri(uri))

    # --- listings --------------------------------------------------------------

    def listing(self, cls: Cls) -> Callable[..., list[Any]]:
        """The listing call of a class (it takes MLMD's ``list_options``)."""
        fetch: Callable[..., list[Any]] = {
            "context": self.mlmd.get_contexts,
            "execution": self.mlmd.get_executions,
            "artifact": self.mlmd.get_artifacts,
        }[cls]
        return fetch

    def listed(self, cls: Cls, options: Any = None) -> list[Any]:
        fetch = self.listing(cls)
        return fetch() if options is None else fetch(list_options=options)

    def newest_update_ms(self) -> int:
        """The newest ``last_update_time_since_epoch`` of any row (0 when empty): three
        one-row reads by a column MLMD indexes."""
        newest = 0
        for cls in ("context", "artifact", "execution"):
            for proto in self.listed(cls, list_options(limit=1, by="update")):
                newest = max(newest, int(proto.last_update_time_since_epoch))
        return newest

    def page(self, cls: Cls, type: str | None, page_size: int, page_token: str | None) -> Page[Any]:
        """One page of a class's rows by row id, of one type or all."""
        # Keyset paging on the row id: stable while writers append, and cheap at depth.
        # Nothing from the caller is spliced into MLMD's filter text: the token must be
        # a row id, and a type name becomes the id of a type this store knows.
        if page_size < 1:
            raise BadInputError(f"page_size must be at least 1, got {page_size}")
        query = f"id > {_row_token(page_token)}"
        if type is not None:
            type_id = next((int(t.id) for t in self.types(cls) if t.name == type), None)
            if type_id is None:
                return Page([], None)  # no type of that name, so nothing of that type
            query += f" AND type_id = {type_id}"
        rows = self.listed(cls, list_options(query, limit=page_size + 1, by="id"))
        more = len(rows) > page_size
        rows = rows[:page_size]
        keys = [str(r.id) for r in rows]
        return Page(rows, keys[-1] if more else None, keys)

    # --- types -----------------------------------------------------------------

    def types(self, cls: Cls) -> list[Any]:
        fetch: Callable[[], list[Any]] = {
            "context": self.mlmd.get_context_types,
            "execution": self.mlmd.get_execution_types,
            "artifact": self.mlmd.get_artifact_types,
        }[cls]
        return fetch()

    def type_names(self) -> dict[int, str]:
        """Every registered type's name by type id, of every class."""
        return {int(t.id): str(t.name) for cls in CLASSES for t in self.types(cls)}

    def type_id(self, cls: Cls, name: str) -> int | None:
        fetch = {
            "context": self.mlmd.get_context_type,
            "execution": self.mlmd.get_execution_type,
            "artifact": self.mlmd.get_artifact_type,
        }[cls]
        try:
            return int(fetch(name).id)
        except NotFound:
            return None

    def attributions(self, executions: Sequence[int]) -> tuple[list[Any], list[tuple[int, int]]]:
        """The contexts these executions are attributed to, and the (execution row, context
        row) pairs. MLMD has no batch call for attributions; its lineage subgraph with no
        hops returns them (it accepts at most 101 starting nodes: pass 100 at a time)."""
        options = pb.LineageSubgraphQueryOptions(max_num_hops=0)
        options.starting_executions.filter_query = f"id IN ({', '.join(map(str, executions))})"
        graph = self.mlmd.get_lineage_subgraph(
            options, field_mask_paths=["associations", "contexts"]
        )
        links = [(int(a.execution_id), int(a.context_id)) for a in graph.associations]
        return list(graph.contexts), links


def _row_token(token: str | None) -> int:
    """The row id a page token names; anything else is refused, never put in a filter."""
    if not token:
        return 0
    if not (token.isascii() and token.isdigit() and len(token) <= 18):
        raise BadInputError(f"page token {token!r} is not a token this store handed out")
    return int(token)
