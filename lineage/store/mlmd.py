"""The MetadataStore port over ML Metadata (SQLite, MySQL or a gRPC server)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import BadInputError, NotFoundError, StoreError
from lineage.model import Artifact, Context, Event, Execution, LineageType, RunRecord
from lineage.store import convert, history
from lineage.store.counting import Counter
from lineage.store.parents import ParentLinks
from lineage.store.port import Page, Stamp, StoreCounts, WriteResult
from lineage.store.row_scan import CLASSES, Cls, RowScan
from lineage.store.rows import MlmdRows
from lineage.store.types import TypeRegistry
from lineage.store.write_plan import WritePlan, event_edges, touched


class MlmdStore:
    """MLMD behind the port. Construct with ``lineage.store.connect.open_store``."""

    def __init__(
        self, mlmd: metadata_store.MetadataStore, backend: str, location: str, counter: Counter
    ) -> None:
        self.mlmd = mlmd  # the raw MLMD client, for readers that speak MLMD natively
        self.scan = RowScan(mlmd)
        self._backend = backend
        self._location = location
        self._counter = counter
        self.types = TypeRegistry(mlmd)
        self.parents = ParentLinks(mlmd)
        # The time a state change is recorded at (lineage.store.history), in ms.
        self.clock: Callable[[], int] = lambda: int(time.time() * 1000)

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def location(self) -> str:
        return self._location

    @property
    def supports_row_scan(self) -> bool:
        return True

    def row_scanner(self) -> MlmdRows:
        return MlmdRows(self.mlmd, self.associations)

    def close(self) -> None:
        self.flush_parent_links()
        self._counter.close()

    # --- writes ------------------------------------------------------------

    def put_run(self, record: RunRecord) -> WriteResult:
        record.validate()
        ctx_ids = [c.id for c in record.contexts]
        stored_ctx = self._stored("context", ctx_ids)
        stored_ex = self._stored("execution", [e.id for e in record.executions])
        stored_art = self._stored("artifact", [a.id for a in record.artifacts])
        parent_rows = self._check_parents(record, stored_ctx)
        plan = WritePlan()
        now = self.clock()
        contexts, ctx_write = plan.nodes(
            [convert.context_to_proto(c, self.types.context(c.type)) for c in record.contexts],
            stored_ctx,
            history.context_state,
            now,
        )
        executions, ex_write = plan.nodes(
            [
                convert.execution_to_proto(e, self.types.execution(e.type))
                for e in record.executions
            ],
            stored_ex,
            history.execution_state,
            now,
        )
        artifacts, art_write = plan.nodes(
            [convert.artifact_to_proto(a, self.types.artifact(a.type)) for a in record.artifacts],
            stored_art,
            history.artifact_state,
            now,
        )
        new_events = self._new_events(record, stored_ex, stored_art)
        ex_write, art_write = touched(
            record, new_events, (contexts, ctx_write), ex_write, art_write
        )
        missing_parents = self.parents.missing(record, stored_ctx)
        if not (any(ctx_write) or any(ex_write) or any(art_write) or new_events or missing_parents):
            return WriteResult(unchanged=plan.unchanged)
        edges = event_edges(record, new_events, ex_write, art_write)
        try:
            # One call, one transaction: the run's nodes land together or not at all.
            # Every context is passed (written or not) so new nodes are attributed to it.
            _, _, ctx_rows = self.mlmd.put_lineage_subgraph(
                [p for p, w in zip(executions, ex_write, strict=True) if w],
                [p for p, w in zip(artifacts, art_write, strict=True) if w],
                contexts,
                edges,
                reuse_context_if_already_exist=True,
            )
            # The rows of the record's contexts come back in order: no lookup needed.
            parent_rows.update(zip(ctx_ids, ctx_rows, strict=True))
            self.parents.link(missing_parents, parent_rows)
        except mlmd_errors.StatusError as exc:
            raise StoreError(f"{record.label}: the store refused the write: {exc}") from exc
        return WriteResult(plan.created, plan.updated, plan.unchanged, len(new_events))

    def _new_events(
        self,
        record: RunRecord,
        stored_ex: Mapping[str, pb.Execution],
        stored_art: Mapping[str, pb.Artifact],
    ) -> list[Event]:
        # MLMD keeps one event per (execution, artifact, type); the first path wins.
        existing: set[tuple[str, str, int]] = set()
        if stored_ex:
            row_to_ex = {e.id: key for key, e in stored_ex.items()}
            row_to_art = {a.id: key for key, a in stored_art.items()}
            for ev in self.scan.events_of_executions(list(row_to_ex)):
                if ev.artifact_id in row_to_art:
                    existing.add((row_to_ex[ev.execution_id], row_to_art[ev.artifact_id], ev.type))
        fresh: list[Event] = []
        for event in record.events:
            key = (event.execution, event.artifact, pb.Event.Type.Value(event.type.value))
            if key not in existing:
                existing.add(key)
                fresh.append(event)
        return fresh

    def _check_parents(
        self, record: RunRecord, stored_ctx: Mapping[str, pb.Context]
    ) -> dict[str, int]:
        """Raise if a parent is neither in the record nor stored; return known rows by id."""
        rows = {key: int(c.id) for key, c in stored_ctx.items()}
        wanted = {p for c in record.contexts for p in c.parents}
        known = {c.id for c in record.contexts} | set(stored_ctx)
        unknown = sorted(wanted - known)
        if unknown:
            found = {c.external_id: int(c.id) for c in self._external("context", unknown)}
            still = [p for p in unknown if p not in found]
            if still:
                raise BadInputError(f"{record.label}: parent context {still[0]!r} is not stored")
            rows.update(found)
        return rows

    @contextlib.contextmanager
    def deferred_parent_links(self) -> Iterator[None]:
        """Batch the parent links of new contexts while the block runs (see ParentLinks)."""
        with self.parents.deferred():
            yield

    def flush_parent_links(self) -> None:
        self.parents.flush()

    def execution_row_ids(self, ids: Sequence[str]) -> dict[str, int]:
        try:
            found = self.mlmd.get_executions_by_external_ids(list(ids))
        except mlmd_errors.NotFoundError:
            return {}
        return {str(p.external_id): int(p.id) for p in found}

    # --- reads -------------------------------------------------------------

    def _external(self, cls: Cls, ids: Sequence[str]) -> list[Any]:
        return self.scan.by_external_ids(cls, [i for i in ids if not i.startswith("mlmd:")])

    def _stored(self, cls: Cls, ids: Sequence[str]) -> dict[str, Any]:
        return {p.external_id: p for p in self._external(cls, ids)}

    def _parents_of(self, proto: pb.Context) -> tuple[str, ...]:
        return tuple(convert.node_id(p, "context") for p in self.scan.parents(proto.id))

    def _ctx(self, proto: pb.Context) -> Context:
        return convert.context_from_proto(
            proto, self.types.name_of(proto.type_id), self._parents_of(proto)
        )

    def _ex(self, proto: pb.Execution) -> Execution:
        return convert.execution_from_proto(proto, self.types.name_of(proto.type_id))

    def _art(self, proto: pb.Artifact) -> Artifact:
        return convert.artifact_from_proto(proto, self.types.name_of(proto.type_id))

    def _rows(self, ids: Sequence[str], kind: Cls) -> list[Any]:
        """Nodes by our id, in input order: external ids, or ``mlmd:<kind>/<row>``."""
        found = {convert.node_id(p, kind): p for p in self._external(kind, ids)}
        prefix = f"mlmd:{kind}/"
        rows = [
            int(i[len(prefix) :])
            for i in ids
            if i.startswith(prefix) and i[len(prefix) :].isdigit()
        ]
        if rows:
            for proto in self.scan.by_rows(kind, rows):
                found[convert.node_id(proto, kind)] = proto
        return [found[i] for i in ids if i in found]

    def get_contexts(self, ids: Sequence[str]) -> list[Context]:
        self.parents.flush_of(ids)  # a reader sees every link written so far
        return [self._ctx(p) for p in self._rows(ids, "context")]

    def get_executions(self, ids: Sequence[str]) -> list[Execution]:
        return [self._ex(p) for p in self._rows(ids, "execution")]

    def get_artifacts(self, ids: Sequence[str]) -> list[Artifact]:
        return [self._art(p) for p in self._rows(ids, "artifact")]

    def list_contexts(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Context]:
        self.flush_parent_links()
        page = self.scan.page("context", type, page_size, page_token)
        return Page([self._ctx(p) for p in page.items], page.next_page_token, page.item_tokens)

    def list_executions(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Execution]:
        page = self.scan.page("execution", type, page_size, page_token)
        return Page([self._ex(p) for p in page.items], page.next_page_token, page.item_tokens)

    def list_artifacts(
        self, type: str | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page[Artifact]:
        page = self.scan.page("artifact", type, page_size, page_token)
        return Page([self._art(p) for p in page.items], page.next_page_token, page.item_tokens)

    def get_events(
        self, execution_ids: Sequence[str] = (), artifact_ids: Sequence[str] = ()
    ) -> list[Event]:
        ex_rows = [p.id for p in self._rows(execution_ids, "execution")]
        art_rows = [p.id for p in self._rows(artifact_ids, "artifact")]
        events: dict[tuple[int, int, int], pb.Event] = {}
        for found in (
            self.scan.events_of_executions(ex_rows),
            self.scan.events_of_artifacts(art_rows),
        ):
            events.update(((e.execution_id, e.artifact_id, e.type), e) for e in found)
        return self._resolve_events(list(events.values()))

    def _resolve_events(self, events: list[pb.Event]) -> list[Event]:
        ex_ids = sorted({e.execution_id for e in events})
        art_ids = sorted({e.artifact_id for e in events})
        ex_names = {
            p.id: convert.node_id(p, "execution") for p in self.scan.by_rows("execution", ex_ids)
        }
        art_names = {
            p.id: convert.node_id(p, "artifact") for p in self.scan.by_rows("artifact", art_ids)
        }
        return [convert.event_from_proto(e, ex_names, art_names) for e in events]

    def get_run(self, run_context_id: str) -> RunRecord:
        self.parents.flush_of([run_context_id])
        rows = self._rows([run_context_id], "context")
        if not rows:
            raise NotFoundError(f"no run context {run_context_id!r} in the store")
        run = rows[0]
        parents = self.scan.parents(run.id)
        executions = self.scan.executions_of_context(run.id)
        artifacts = self.scan.artifacts_of_context(run.id)
        ex_names = {p.id: convert.node_id(p, "execution") for p in executions}
        art_names = {p.id: convert.node_id(p, "artifact") for p in artifacts}
        events = [
            convert.event_from_proto(e, ex_names, art_names)
            for e in self.scan.events_of_executions(list(ex_names))
            if e.artifact_id in art_names
        ]
        return RunRecord(
            contexts=(self._ctx(run), *(self._ctx(p) for p in parents)),
            executions=tuple(self._ex(p) for p in executions),
            artifacts=tuple(self._art(p) for p in artifacts),
            events=tuple(events),
        )

    def stamps(self, ids: Sequence[str]) -> dict[str, Stamp]:
        out: dict[str, Stamp] = {}
        for kind in CLASSES:
            for proto in self._rows([i for i in ids if i not in out], kind):
                out[convert.node_id(proto, kind)] = Stamp(
                    proto.create_time_since_epoch, proto.last_update_time_since_epoch
                )
        return out

    def counts(self) -> StoreCounts:
        return self._counter.counts()

    def associations(self, execution_rows: list[int]) -> list[tuple[int, int]] | None:
        """(execution row, context row) attribution pairs read in one SQL query, or None
        when the store is reachable only through MLMD's API (gRPC)."""
        return self._counter.associations(execution_rows)

    # --- book-keeping ------------------------------------------------------

    def get_state(self, key: str) -> dict[str, Any] | None:
        proto = self.mlmd.get_context_by_type_and_name(LineageType.STATE, key)
        if proto is None:
            return None
        value = convert.read_properties(proto).get("value")
        # Kept as JSON text: a Struct would turn integer watermarks into doubles.
        loaded = json.loads(value) if isinstance(value, str) else None
        return loaded if isinstance(loaded, dict) else None

    def put_state(self, key: str, value: Mapping[str, Any]) -> None:
        # A watermark must never cover runs whose links are still in memory.
        self.flush_parent_links()
        proto = pb.Context(
            type_id=self.types.context(LineageType.STATE), name=key, external_id=f"state:{key}"
        )
        proto.custom_properties["value"].string_value = json.dumps(dict(value), sort_keys=True)
        existing = self.mlmd.get_context_by_type_and_name(LineageType.STATE, key)
        if existing is not None:
            proto.id = existing.id
        self.mlmd.put_contexts([proto])
