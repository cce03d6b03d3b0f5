"""The reads ``ingest mlmd`` makes of a source store, through MLMD's own API only.

Only ``get_*`` calls: the source is KFP's and stays untouched. The reads go through
the store's bulk reader (lineage.store.row_scan), which sends large id lists in chunks
so a gRPC source stays under its message size limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lineage.errors import BadInputError, StoreError
from lineage.ingest.kfp_mlmd.source_store import Ghosts
from lineage.store.row_scan import (
    Cls,
    MlmdClient,
    NotFound,
    RowScan,
    StatusError,
    chunks,
    list_options,
)

T = TypeVar("T")


@dataclass(frozen=True)
class HighWater:
    """The newest ``last_update_time_since_epoch`` in the source, and which nodes carry it."""

    ms: int
    contexts: frozenset[int] = frozenset()
    executions: frozenset[int] = frozenset()
    artifacts: frozenset[int] = frozenset()


class SourceReader:
    def __init__(self, mlmd: MlmdClient, ghosts: Ghosts | None = None) -> None:
        self.mlmd = mlmd
        self.scan = RowScan(mlmd)
        self.ghosts = ghosts or Ghosts()
        self._context_types: list[str] | None = None

    def context_types(self) -> list[str]:
        """The names of the context types the source registered (read once)."""
        if self._context_types is None:
            found = self._call("listing context types", self.scan.types, "context")
            self._context_types = sorted(str(t.name) for t in found)
        return self._context_types

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except NotFound:
            raise
        except StatusError as exc:
            raise StoreError(f"the source refused {what}: {str(exc).splitlines()[0]}") from exc

    def _list(self, what: str, fn: Callable[..., list[T]], *args: Any) -> list[T]:
        """A listing call; MLMD answers NotFound where it means an empty list."""
        try:
            return self._call(what, fn, *args)
        except NotFound:
            return []

    # --- whole-store listings ----------------------------------------------

    def contexts(self) -> list[Any]:
        return self._call("listing contexts", self.scan.listed, "context")

    def executions(self) -> list[Any]:
        return self._call("listing executions", self.scan.listed, "execution")

    def artifacts(self) -> list[Any]:
        return self._call("listing artifacts", self.scan.listed, "artifact")

    def is_empty(self) -> bool:
        one = list_options(limit=1)
        return not any(
            self._call("a probe", self.scan.listed, cls, one)
            for cls in ("context", "execution", "artifact")
        )

    def high_water(self) -> HighWater:
        newest = list_options(limit=1, by="update")
        fetches = tuple(self.scan.listing(cls) for cls in ("context", "execution", "artifact"))
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
        opts = list_options(f"last_update_time_since_epoch >= {int(since_ms)}", by="id")
        return self._call("a changes query", fetch, list_options=opts)

    # --- by row --------------------------------------------------------------

    def executions_by_id(self, rows: Sequence[int]) -> list[Any]:
        return self._by_id("execution", rows, self.ghosts.executions)

    def artifacts_by_id(self, rows: Sequence[int]) -> list[Any]:
        return self._by_id("artifact", rows, self.ghosts.artifacts)

    def contexts_by_id(self, rows: Sequence[int]) -> list[Any]:
        return self._by_id("context", rows, self.ghosts.contexts)

    def _by_id(self, cls: Cls, rows: Sequence[int], gone: frozenset[int]) -> list[Any]:
        out: list[Any] = []
        # A gone row is not asked of MLMD, which would abort on it: it is simply not held.
        for chunk in chunks(sorted(set(rows) - gone)):
            out.extend(self._call(f"reading {cls}s", self.scan.by_rows, cls, chunk, True))
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

    def executions_in(self, context: int) -> list[Any]:
        self._whole(context)
        return self._list(
            f"listing executions of context {context}", self.scan.executions_of_context, context
        )

    def artifacts_in(self, context: int) -> list[Any]:
        self._whole(context)
        return self._list(
            f"listing artifacts of context {context}", self.scan.artifacts_of_context, context
        )

    def contexts_of_execution(self, row: int) -> list[Any]:
        return self._list(f"contexts of execution {row}", self.scan.contexts_of_execution, row)

    def contexts_of_artifact(self, row: int) -> list[Any]:
        return self._list(f"contexts of artifact {row}", self.scan.contexts_of_artifact, row)

    def parents(self, context: int) -> list[Any]:
        return self._list(f"parents of context {context}", self.scan.parents, context)

    def children(self, context: int) -> list[Any]:
        return self._list(f"children of context {context}", self.scan.children, context)

    def events_of_executions(self, rows: Sequence[int]) -> list[Any]:
        return self._call("reading events", self.scan.events_of_executions, list(rows))

    def events_of_artifacts(self, rows: Sequence[int]) -> list[Any]:
        return self._call("reading events", self.scan.events_of_artifacts, list(rows))

    def rows_by_uri(self, uris: Iterable[str]) -> dict[str, list[int]]:
        """Every artifact row the source holds at each URI (MLMD indexes ``uri``: one
        cheap call per URI beats one filter query that scans the table)."""
        return {
            uri: [a.id for a in self._list("artifacts by URI", self.scan.artifacts_at, uri)]
            for uri in sorted({u for u in uris if u})
        }
