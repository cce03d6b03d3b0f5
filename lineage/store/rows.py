"""Batched reads of MLMD rows as lineage nodes, for the MLMD reader and the Neo4j sync.

The row rules (lineage.store.row_rules) applied to the bulk reads of
lineage.store.row_scan. Ids map to MLMD row ids through a bounded cache: that
mapping never changes (MLMD neither deletes nor renumbers rows), unlike the rows
themselves, which are always read fresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lineage.errors import StoreError
from lineage.model import LineageNode
from lineage.store import row_rules
from lineage.store.port import MetadataStore
from lineage.store.row_scan import (
    CLASSES,
    CLIENT_CLASS,
    Cls,
    MlmdClient,
    Order,
    RowScan,
    chunks,
    list_options,
)

_CACHE_MAX = 500_000


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
    """Batched reads of rows as nodes over a raw MLMD client. ``associations`` is the
    store's SQL fast path for attributions (``MlmdStore.associations``); without it,
    MLMD's API is used."""

    def __init__(self, mlmd: MlmdClient, associations: Associations | None = None) -> None:
        self.scan = RowScan(mlmd)
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
            self._types.update(self.scan.type_names())
        return self._types.get(type_id, f"unknown-type-{type_id}")

    def type_id(self, cls: Cls, name: str) -> int | None:
        return self.scan.type_id(cls, name)

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
        return {
            int(proto.id): self.wrap(cls, proto)
            for proto in self.scan.by_rows(cls, sorted(set(rows)))
        }

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
            for cls in ("artifact", "execution", "context"):
                rest = [i for i in unknown if i not in out]
                for proto in self.scan.by_external_ids(cls, rest):
                    row = self.wrap(cls, proto)
                    if row.node is not None:
                        out[row.node.id] = row
        return out

    # --- events and contexts ------------------------------------------------

    def events_of_artifacts(self, rows: Sequence[int]) -> list[Any]:
        return self.scan.events_of_artifacts(sorted(set(rows)))

    def events_of_executions(self, rows: Sequence[int]) -> list[Any]:
        return self.scan.events_of_executions(sorted(set(rows)))

    def filter_executions(self, query: str) -> dict[int, Row]:
        opts = list_options(query)
        return {int(p.id): self.wrap("execution", p) for p in self.scan.listed("execution", opts)}

    def listed(self, cls: Cls, query: str, limit: int | None = None, by: Order = "id") -> list[Row]:
        """Rows of a class that match MLMD's filter ``query``, by row id (or as ``by``)."""
        options = list_options(query, limit, by=by)
        return [self.wrap(cls, p) for p in self.scan.listed(cls, options)]

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
        for chunk in chunks(wanted, 100):
            protos, links = self.scan.attributions(chunk)
            found = {int(p.id): self.wrap("context", p) for p in protos}
            for execution, context in links:
                ctx = found.get(context)
                if ctx is not None:
                    out.setdefault(execution, []).append(ctx)
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
            opts = list_options(f"type = {quoted} AND executions_a.id IN ({members})")
            for proto in self.scan.listed("context", opts):
                out[int(proto.id)] = self.wrap("context", proto)
        return [out[k] for k in sorted(out)]

    def parents(self, row: int) -> list[Row]:
        return [self.wrap("context", p) for p in self.scan.parents(row)]

    def children(self, row: int) -> list[Row]:
        return [self.wrap("context", p) for p in self.scan.children(row)]

    def executions_of_context(self, row: int) -> list[Row]:
        return [self.wrap("execution", p) for p in self.scan.executions_of_context(row)]


def _mlmd_ref(node_id: str) -> tuple[Cls, int] | None:
    for cls in CLASSES:
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


def rows_for(source: MetadataStore | MlmdClient) -> MlmdRows:
    """MlmdRows for an open store (with its SQL fast path) or for a raw MLMD client."""
    if isinstance(source, CLIENT_CLASS):
        return MlmdRows(source)
    if not source.supports_row_scan:
        raise StoreError(
            f"the {source.backend} store at {source.location} has no MLMD rows to read"
        )
    return source.row_scanner()
