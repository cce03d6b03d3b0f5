"""Counting what a store holds. MLMD has no count call, so SQL backends count in SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ml_metadata.metadata_store import metadata_store

from lineage.store.port import StoreCounts

_TABLES = ("Context", "Execution", "Artifact", "Event")
_BY_TYPE = "SELECT t.name, COUNT(*) FROM {table} n JOIN Type t ON t.id = n.type_id GROUP BY t.name"


class Counter(Protocol):
    def counts(self) -> StoreCounts: ...
    def close(self) -> None: ...

    def associations(self, execution_rows: list[int]) -> list[tuple[int, int]] | None:
        """(execution row, context row) attribution pairs in one SQL query, or None when
        the backend is reachable only through MLMD's API."""
        ...


class SqlCounter:
    """COUNT(*) over MLMD's own tables through a DB-API connection (sqlite3 or PyMySQL).

    Listing every node through MLMD would read the whole store to print four numbers.
    """

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect

    def counts(self) -> StoreCounts:
        conn = self._connect()
        try:
            cur = conn.cursor()
            totals: dict[str, int] = {}
            for table in _TABLES:
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                totals[table] = int(cur.fetchone()[0])
            by_type: dict[str, int] = {}
            for table in _TABLES[:3]:
                cur.execute(_BY_TYPE.format(table=table))
                by_type.update({str(name): int(n) for name, n in cur.fetchall()})
        finally:
            conn.close()
        return StoreCounts(
            totals["Context"], totals["Execution"], totals["Artifact"], totals["Event"], by_type
        )

    def close(self) -> None:
        pass

    def associations(self, execution_rows: list[int]) -> list[tuple[int, int]]:
        """(execution row, context row) pairs from MLMD's Association table.

        MLMD's own get_contexts_by_execution scans that table once per execution
        (it is indexed by context only), so the projection reads it once per page.
        """
        if not execution_rows:
            return []
        ids = ",".join(str(int(r)) for r in execution_rows)  # ints only: safe to inline
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute(
                f"SELECT execution_id, context_id FROM Association WHERE execution_id IN ({ids})"
            )
            return [(int(e), int(c)) for e, c in cur.fetchall()]
        finally:
            conn.close()


class ListingCounter:
    """For a gRPC server, where only MLMD's API is reachable: count by listing."""

    def __init__(self, mlmd: metadata_store.MetadataStore) -> None:
        self._mlmd = mlmd

    def counts(self) -> StoreCounts:
        by_type: dict[str, int] = {}
        totals: list[int] = []
        for list_nodes, list_types in (
            (self._mlmd.get_contexts, self._mlmd.get_context_types),
            (self._mlmd.get_executions, self._mlmd.get_execution_types),
            (self._mlmd.get_artifacts, self._mlmd.get_artifact_types),
        ):
            names = {t.id: t.name for t in list_types()}
            nodes = list_nodes()
            totals.append(len(nodes))
            for node in nodes:
                name = names.get(node.type_id, str(node.type_id))
                by_type[name] = by_type.get(name, 0) + 1
        executions = [e.id for e in self._mlmd.get_executions()]
        events = len(self._mlmd.get_events_by_execution_ids(executions)) if executions else 0
        return StoreCounts(totals[0], totals[1], totals[2], events, by_type)

    def close(self) -> None:
        pass

    def associations(self, execution_rows: list[int]) -> None:
        return None  # no SQL here: MLMD's API reads attributions
