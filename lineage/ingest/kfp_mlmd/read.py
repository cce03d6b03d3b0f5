"""The reads ``ingest mlmd`` makes of a source store, through MLMD's own API only.

Only ``get_*`` calls: the source is KFP's and stays untouched. Large id lists are sent
in chunks so a gRPC source stays under its message size limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import BadInputError, StoreError
from lineage.ingest.kfp_mlmd.source_store import Ghosts

T = TypeVar("T")
_CHUNK = 500


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


@dataclass(frozen=True)
class HighWater:
    """The newest ``last_update_time_since_epoch`` in the source, and which nodes carry it."""

    ms: int
    contexts: frozenset[int] = frozenset()
    executions: frozenset[int] = frozenset()
    artifacts: frozenset[int] = frozenset()


class SourceReader:
    def __init__(self, mlmd: metadata_store.MetadataStore, ghosts: Ghosts | None = None) -> None:
        self.mlmd = mlmd
        self.ghosts = ghosts or Ghosts()
        self._context_types: list[str] | None = None

    def context_types(self) -> list[str]:
        """The names of the context types the source registered (read once)."""
        if self._context_types is None:
            found = self._call("listing context types", self.mlmd.get_context_types)
            self._context_types = sorted(str(t.name) for t in found)
        return self._context_types

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except mlmd_errors.NotFoundError:
            raise
        except mlmd_errors.StatusError as exc:
            raise StoreError(f"the source refused {what}: {str(exc).splitlines()[0]}") from exc

    def _list(self, what: str, fn: Callable[..., list[T]], *args: Any) -> list[T]:
        """A listing call; MLMD answers NotFound where it means an empty list."""
        try:
            return self._call(what, fn, *args)
        except mlmd_errors.NotFoundError:
            return []

    # --- whole-store listings ----------------------------------------------

    def contexts(self) -> list[pb.Context]:
        return self._call("listing contexts", self.mlmd.get_contexts)

    def executions(self) -> list[pb.Execution]:
        return self._call("listing executions", self.mlmd.get_executions)

    def artifacts(self) -> list[pb.Artifact]:
        return self._call("listing artifacts", self.mlmd.get_artifacts)

    def is_empty(self) -> bool:
        one = metadata_store.ListOptions(limit=1)
        return not any(
            self._call("a probe", fetch, list_options=one)
            for fetch in (self.mlmd.get_contexts, self.mlmd.get_executions, self.mlmd.get_artifacts)
        )

    def high_water(self) -> HighWater:
        newest = metadata_store.ListOptions(
            limit=1, order_by=metadata_store.OrderByField.UPDATE_TIME, is_asc=False
        )
        fetches = (self.mlmd.get_contexts, self.mlmd.get_executions, self.mlmd.get_artifacts)
        tops = [self._call("the newest update", f, list_options=newest) for f in fetches]
        ms = max((int(t[0].last_update_time_since_epoch) for t in tops if t), default=0)
        if ms == 0:
            return HighWater(0)
        at = [
            frozenset(n.id for n in self.changed(f, ms) if n.last_update_time_since_epoch == ms)
            for f in fetches
        ]
        return HighWater(ms, at[0], at[1], at[2])

    def changed(self, fetch: Callable[..., list[T]], since_ms: int) -> list[T]:
        opts = metadata_store.ListOptions(
            filter_query=f"last_update_time_since_epoch >= {int(since_ms)}",
            order_by=metadata_store.OrderByField.ID,
            is_asc=True,
        )
        return self._call("a changes query", fetch, list_options=opts)

    # --- by row --------------------------------------------------------------

    def executions_by_id(self, rows: Sequence[int]) -> list[pb.Execution]:
        out: list[pb.Execution] = []
        # A gone row is not asked of MLMD, which would abort on it: it is simply not held.
        for chunk in _chunks(sorted(set(rows) - self.ghosts.executions)):
            with contextlib.suppress(mlmd_errors.NotFoundError):
                out.extend(self._call("reading executions", self.mlmd.get_executions_by_id, chunk))
        return out

    def artifacts_by_id(self, rows: Sequence[int]) -> list[pb.Artifact]:
        out: list[pb.Artifact] = []
        # A gone row is not asked of MLMD, which would abort on it: it is simply not held.
        for chunk in _chunks(sorted(set(rows) - self.ghosts.artifacts)):
            with contextlib.suppress(mlmd_errors.NotFoundError):
                out.extend(self._call("reading artifacts", self.mlmd.get_artifacts_by_id, chunk))
        return out

    def contexts_by_id(self, rows: Sequence[int]) -> list[pb.Context]:
        out: list[pb.Context] = []
        # A gone row is not asked of MLMD, which would abort on it: it is simply not held.
        for chunk in _chunks(sorted(set(rows) - self.ghosts.contexts)):
            with contextlib.suppress(mlmd_errors.NotFoundError):
                out.extend(self._call("reading contexts", self.mlmd.get_contexts_by_id, chunk))
        return out

    # --- membership and events ----------------------------------------------

    def gone_members(self, context: int) -> tuple[frozenset[int], frozenset[int]]:
        """Execution and artifact rows a context still lists but the source lost."""
        return (
            self.ghosts.context_executions.get(context, frozenset()),
            self.ghosts.context_artifacts.get(context, frozenset()),
        )

    def _whole(self, context: int) -> None:
        if any(self.gone_members(context)) or context in self.ghosts.contexts:
            raise BadInputError(f"context row {context} lists rows the source lost")

    def executions_in(self, context: int) -> list[pb.Execution]:
        self._whole(context)
        return self._list(
            f"listing executions of context {context}", self.mlmd.get_executions_by_context, context
        )

    def artifacts_in(self, context: int) -> list[pb.Artifact]:
        self._whole(context)
        return self._list(
            f"listing artifacts of context {context}", self.mlmd.get_artifacts_by_context, context
        )

    def contexts_of_execution(self, row: int) -> list[pb.Context]:
        return self._list(f"contexts of execution {row}", self.mlmd.get_contexts_by_execution, row)

    def contexts_of_artifact(self, row: int) -> list[pb.Context]:
        return self._list(f"contexts of artifact {row}", self.mlmd.get_contexts_by_artifact, row)

    def parents(self, context: int) -> list[pb.Context]:
        return self._list(
            f"parents of context {context}", self.mlmd.get_parent_contexts_by_context, context
        )

    def children(self, context: int) -> list[pb.Context]:
        return self._list(
            f"children of context {context}", self.mlmd.get_children_contexts_by_context, context
        )

    def events_of_executions(self, rows: Sequence[int]) -> list[pb.Event]:
        out: list[pb.Event] = []
        for chunk in _chunks(list(rows)):
            out.extend(self._call("reading events", self.mlmd.get_events_by_execution_ids, chunk))
        return out

    def events_of_artifacts(self, rows: Sequence[int]) -> list[pb.Event]:
        out: list[pb.Event] = []
        for chunk in _chunks(list(rows)):
            out.extend(self._call("reading events", self.mlmd.get_events_by_artifact_ids, chunk))
        return out

    def rows_by_uri(self, uris: Iterable[str]) -> dict[str, list[int]]:
        """Every artifact row the source holds at each URI (MLMD indexes ``uri``: one
        cheap call per URI beats one filter query that scans the table)."""
        return {
            uri: [a.id for a in self._list("artifacts by URI", self.mlmd.get_artifacts_by_uri, uri)]
            for uri in sorted({u for u in uris if u})
        }
