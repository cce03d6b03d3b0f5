"""Batched reads of MLMD rows as lineage nodes, for the MLMD reader and the Neo4j sync.

Every call takes many ids at once and splits them into chunks MLMD accepts, so
a walk costs a few calls per level, not one per node. Ids map to MLMD row ids
through a bounded cache: that mapping never changes (MLMD neither deletes nor
renumbers rows), unlike the rows themselves, which are always read fresh.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.model import LineageNode
from lineage.store import row_rules

T = TypeVar("T")
Cls = Literal["context", "execution", "artifact"]
CHUNK = 500  # ids per MLMD call: far below the gRPC message cap
_CACHE_MAX = 500_000


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True, slots=True)
class Row:
    """A stored MLMD row: its class, row id, proto, type name, and node (None if not lineage)."""

    cls: Cls
    row: int
    proto: Any
    type: str
    node: LineageNode | None


Associations = Callable[[list[int]], "list[tuple[int, int]] | None"]


class MlmdRows:
    """Batched reads over a raw MLMD client. ``associations`` is the store's SQL fast path
    for attributions (``MlmdStore.associations``); without it, MLMD's API is used."""

    def __init__(
        self, mlmd: metadata_store.MetadataStore, associations: Associations | None = None
    ) -> None:
        self.mlmd = mlmd
        self._associations = associations
        self._refs: dict[str, tuple[Cls, int]] = {}
        self._types: dict[int, str] = {}
        # Rows read since the last take_recent(): a walk's next frontier, so the next
        # level need not read them again. Kept for seconds, never across queries.
        self._recent: dict[str, Row] = {}
        self._recent_at = 0.0

    # --- types -------------------------------------------------------------

    def type_name(self, type_id: int) -> str:
        if type_id not in self._types:
            for fetch in (
                self.mlmd.get_context_types,
                self.mlmd.get_execution_types,
                self.mlmd.get_artifact_types,
            ):
                self._types.update((t.id, str(t.name)) for t in fetch())
        return self._types.get(type_id, f"unknown-type-{type_id}")

    def type_id(self, cls: Cls, name: str) -> int | None:
        fetch = {
            "context": self.mlmd.get_context_type,
            "execution": self.mlmd.get_execution_type,
            "artifact": self.mlmd.get_artifact_type,
        }[cls]
        try:
            return int(fetch(name).id)
        except mlmd_errors.NotFoundError:
            return None

    # --- rows by id ----------------------------------------------------------

    def wrap(self, cls: Cls, proto: Any) -> Row:
        type_name = self.type_name(proto.type_id)
        node: LineageNode | None
        if cls == "context":
            node = row_rules.context_node(proto, type_name)
        elif cls == "execution":
            node = row_rules.execution_node(proto, type_name)
        else:
            node = row_rules.artifact_node(proto, type_name)
        row = Row(cls, int(proto.id), proto, type_name, node)
        if node is not None:
            if len(self._refs) < _CACHE_MAX:
                self._refs[node.id] = (cls, row.row)
            self._recent[node.id] = row
        return row

    def take_recent(self, max_age_s: float = 5.0) -> dict[str, Row]:
        """The rows read since the last call (empty when older than ``max_age_s``)."""
        recent, self._recent = self._recent, {}
        now = time.monotonic()
        fresh = now - self._recent_at <= max_age_s
        self._recent_at = now
        return recent if fresh else {}

    def by_rows(self, cls: Cls, rows: Iterable[int]) -> dict[int, Row]:
        fetch = {
            "context": self.mlmd.get_contexts_by_id,
            "execution": self.mlmd.get_executions_by_id,
            "artifact": self.mlmd.get_artifacts_by_id,
        }[cls]
        out: dict[int, Row] = {}
        for chunk in chunks(sorted(set(rows))):
            for proto in fetch(chunk):
                out[int(proto.id)] = self.wrap(cls, proto)
        return out

    def by_ids(self, ids: Sequence[str]) -> dict[str, Row]:
        """Rows for our ids (external ids, or ``mlmd:<class>/<row>``); unknown ids left out."""
        wanted = list(dict.fromkeys(ids))
        known: dict[Cls, list[int]] = {"context": [], "execution": [], "artifact": []}
        unknown: list[str] = []
        for node_id in wanted:
            ref = self._refs.get(node_id) or _mlmd_ref(node_id)
            if ref is None:
                unknown.append(node_id)
            else:
                known[ref[0]].append(ref[1])
        out: dict[str, Row] = {}
        for cls, rows in known.items():
            for row in self.by_rows(cls, rows).values():
                if row.node is not None:
                    out[row.node.id] = row
        if unknown:
            for cls, fetch in (
                ("artifact", self.mlmd.get_artifacts_by_external_ids),
                ("execution", self.mlmd.get_executions_by_external_ids),
                ("context", self.mlmd.get_contexts_by_external_ids),
            ):
                rest = [i for i in unknown if i not in out]
                for chunk in chunks(rest):
                    # MLMD raises NotFound rather than return an empty list.
                    with contextlib.suppress(mlmd_errors.NotFoundError):
                        for proto in fetch(chunk):
                            row = self.wrap(cls, proto)
                            if row.node is not None:
                                out[row.node.id] = row
        return out

    # --- events and contexts ------------------------------------------------

    def events_of_artifacts(self, rows: Sequence[int]) -> list[Any]:
        return self._events(self.mlmd.get_events_by_artifact_ids, rows)

    def events_of_executions(self, rows: Sequence[int]) -> list[Any]:
        return self._events(self.mlmd.get_events_by_execution_ids, rows)

    @staticmethod
    def _events(fetch: Callable[[list[int]], list[Any]], rows: Sequence[int]) -> list[Any]:
        out: list[Any] = []
        for chunk in chunks(sorted(set(rows))):
            out.extend(fetch(chunk))
        return out

    def filter_executions(self, query: str) -> dict[int, Row]:
        opts = metadata_store.ListOptions(filter_query=query)
        return {
            int(p.id): self.wrap("execution", p)
            for p in self.mlmd.get_executions(list_options=opts)
        }

    def executions_naming(self, key: str, ids: Sequence[str]) -> dict[int, Row]:
        """Executions whose string property ``key`` holds one of ``ids`` (reverse references)."""
        out: dict[int, Row] = {}
        for chunk in chunks(sorted(set(ids)), 200):
            values = ", ".join(q for q in map(literal, chunk) if q is not None)
            if not values:
                continue
            out.update(
                self.filter_executions(f"custom_properties.{key}.string_value IN ({values})")
            )
        return out

    def contexts_of_executions(self, rows: Sequence[int]) -> dict[int, list[Row]]:
        """The contexts each execution is attributed to."""
        wanted = sorted(set(rows))
        pairs = self._associations(wanted) if self._associations and wanted else None
        out: dict[int, list[Row]] = {}
        if pairs is not None:
            contexts = self.by_rows("context", {c for _, c in pairs})
            for execution, context in pairs:
                if context in contexts:
                    out.setdefault(execution, []).append(contexts[context])
            return out
        # MLMD has no batch call for attributions; its lineage subgraph with no hops
        # returns them (it accepts at most 101 starting nodes).
        for chunk in chunks(wanted, 100):
            options = pb.LineageSubgraphQueryOptions(max_num_hops=0)
            options.starting_executions.filter_query = f"id IN ({', '.join(map(str, chunk))})"
            graph = self.mlmd.get_lineage_subgraph(
                options, field_mask_paths=["associations", "contexts"]
            )
            found = {int(p.id): self.wrap("context", p) for p in graph.contexts}
            for link in graph.associations:
                ctx = found.get(int(link.context_id))
                if ctx is not None:
                    out.setdefault(int(link.execution_id), []).append(ctx)
        return out

    def context_runs(self, rows: Sequence[int], run_type: str) -> list[Row]:
        """The contexts of type ``run_type`` any of these executions is attributed to."""
        if self._associations is not None:
            found: dict[int, Row] = {}
            for chunk in chunks(sorted(set(rows)), 5000):
                for ctx_list in self.contexts_of_executions(chunk).values():
                    found.update((c.row, c) for c in ctx_list if c.type == run_type)
            return [found[k] for k in sorted(found)]
        out: dict[int, Row] = {}
        quoted = literal(run_type)
        if quoted is None:
            return []
        for chunk in chunks(sorted(set(rows))):
            members = ", ".join(map(str, chunk))
            opts = metadata_store.ListOptions(
                filter_query=f"type = {quoted} AND executions_a.id IN ({members})"
            )
            for proto in self.mlmd.get_contexts(list_options=opts):
                out[int(proto.id)] = self.wrap("context", proto)
        return [out[k] for k in sorted(out)]

    def parents(self, row: int) -> list[Row]:
        return [self.wrap("context", p) for p in self.mlmd.get_parent_contexts_by_context(row)]

    def children(self, row: int) -> list[Row]:
        return [self.wrap("context", p) for p in self.mlmd.get_children_contexts_by_context(row)]

    def executions_of_context(self, row: int) -> list[Row]:
        return [self.wrap("execution", p) for p in self.mlmd.get_executions_by_context(row)]


def _mlmd_ref(node_id: str) -> tuple[Cls, int] | None:
    for cls in ("context", "execution", "artifact"):
        prefix = f"mlmd:{cls}/"
        if node_id.startswith(prefix) and node_id[len(prefix) :].isdigit():
            return cls, int(node_id[len(prefix) :])
    return None


def literal(value: str) -> str | None:
    """``value`` as a string literal of MLMD's filter syntax, or None when it cannot be one.

    The filter parser reads backslash escapes (doubling a quote, as SQL does, lets
    ``\\'`` close the literal early), so a quote is escaped with a backslash. A value
    holding a backslash or an unprintable character never compares equal through the
    filter anyway; it is left out rather than risk a literal that means something else.
    """
    if "\\" in value or not value.isprintable():
        return None
    return "'" + value.replace("'", "\\'") + "'"


def rows_for(source: Any) -> MlmdRows:
    """MlmdRows for an open store (with its SQL fast path) or for a raw MLMD client."""
    mlmd = getattr(source, "mlmd", source)
    return MlmdRows(mlmd, getattr(source, "associations", None))
