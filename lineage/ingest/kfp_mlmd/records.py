"""Turning the nodes of one unit of a source MLMD store into one RunRecord.

A unit is a KFP run (its ``system.PipelineRun`` context), any other context (stores of
other MLMD users), or nodes that belong to no context. Its record holds the unit's
contexts, executions and artifacts, every artifact its events touch (a cache hit points at
the original run's outputs), and those events. KFP's properties are kept as they are;
two are added, in our ids, because MLMD row ids mean nothing outside the source:

- ``parent_task``: the task id of the DAG named by ``parent_dag_id``;
- ``cached_from``: on a CACHED execution, the task id of the execution named by
  ``cached_execution_id`` (the projection draws CACHED_FROM from it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import BadInputError
from lineage.ingest.kfp_mlmd import ids, tfx
from lineage.ingest.kfp_mlmd.read import SourceReader
from lineage.model import (
    Artifact,
    ArtifactState,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    Properties,
    PropertyValue,
    RunRecord,
)
from lineage.store.convert import read_properties

StoredContexts = Callable[[list[str]], list[Context]]


def _event_text(event: pb.Event) -> str:
    steps = [s.key if s.HasField("key") else str(s.index) for s in event.path.steps]
    return f"{pb.Event.Type.Name(event.type)} {{{', '.join(steps)}}}"


@dataclass
class RecordBuilder:
    reader: SourceReader
    source_key: str
    stored_contexts: StoredContexts
    # Rows some unit has claimed, so the orphan pass leaves them alone.
    attributed_executions: set[int] = field(default_factory=set)
    claimed_artifacts: set[int] = field(default_factory=set)
    _run_tasks: dict[int, dict[int, str]] = field(default_factory=dict)
    # A dataset every run imports is touched by every run's events: read them once per
    # ingest, and confirm each execution row once, or the ingest grows with runs squared.
    _artifact_events: dict[int, list[pb.Event]] = field(default_factory=dict)
    _known_executions: set[int] = field(default_factory=set)
    _uri_rows: dict[str, list[int]] = field(default_factory=dict)
    # Names TFX gave executions: kept as a property, not as the stored name (see tfx_mlmd).
    _renamed: set[int] = field(default_factory=set)
    # Execution and artifact rows attributed to a TFX run read in this ingest.
    _run_members: tuple[set[int], set[int]] = field(default_factory=lambda: (set(), set()))
    _tfx: bool | None = None

    @property
    def tfx(self) -> bool:
        """Whether the source is a TFX store (its model types then map to system.Model)."""
        if self._tfx is None:
            self._tfx = tfx.is_tfx_store(self.reader.context_types())
        return self._tfx

    # --- units ---------------------------------------------------------------

    def run(self, ctx: pb.Context) -> RunRecord:
        """A run context, by the conventions of the tool that wrote it."""
        return self.tfx_run(ctx) if ctx.type == tfx.PIPELINE_RUN else self.kfp_run(ctx)

    def tfx_run(self, ctx: pb.Context) -> RunRecord:
        """A TFX ``pipeline_run``: each execution a task named after its node."""
        label = ids.context_id(ctx)
        executions, artifacts = self._members(ctx.id, label)
        self._run_members[0].update(ex.id for ex in executions)
        self._run_members[1].update(a.id for a in artifacts)
        links = {ex.id: self.reader.contexts_of_execution(ex.id) for ex in executions}
        pipelines = {c.id: c for found in links.values() for c in found if c.type == tfx.PIPELINE}
        pipelines.update((p.id, p) for p in self.reader.parents(ctx.id) if tfx.is_pipeline(p.type))
        pipeline = min(pipelines.values(), key=lambda c: c.id).name if pipelines else None
        nodes = {
            ex.id: tfx.node_of(ex, [c for c in links[ex.id] if c.type == tfx.NODE], pipeline)
            for ex in executions
        }
        external = {ex.id: str(ex.external_id) for ex in executions if ex.external_id}
        task_ids = tfx.run_task_ids(ctx.name, nodes, external)
        self._run_tasks[ctx.id] = task_ids
        extra: dict[int, dict[str, PropertyValue]] = {}
        for ex in executions:
            name = ex.name if ex.HasField("name") and ex.name else None
            extra[ex.id] = tfx.task_properties(read_properties(ex), nodes[ex.id], name)
            self._renamed.add(ex.id)
        contexts = self._contexts_of_run(ctx, list(pipelines.values()))
        return self._assemble(label, contexts, executions, task_ids, extra, artifacts)

    def kfp_run(self, ctx: pb.Context) -> RunRecord:
        """A KFP ``system.PipelineRun``: task ids from the ``parent_dag_id`` chains."""
        run = ctx.name
        label = ids.context_id(ctx)
        executions, artifacts = self._members(ctx.id, label)
        task_ids = ids.run_task_ids(run, executions)
        self._run_tasks[ctx.id] = task_ids
        extra: dict[int, dict[str, PropertyValue]] = {}
        for ex in executions:
            props: dict[str, PropertyValue] = {}
            parent = ids.int_prop(ex, "parent_dag_id")
            if parent and parent in task_ids:
                props["parent_task"] = task_ids[parent]
            if ex.last_known_state == pb.Execution.CACHED:
                original = self._cached_from(ex, task_ids)
                if original is not None:
                    props["cached_from"] = original
            extra[ex.id] = props
        contexts = self._contexts_of_run(ctx)
        return self._assemble(label, contexts, executions, task_ids, extra, artifacts)

    def context(self, ctx: pb.Context) -> RunRecord:
        """Any context other than a run: kept with its type, its members and its parents.

        Members that are in a run were written with their run, under their task ids; a
        context that also holds them (TFX's ``pipeline`` and ``node``) keeps the others."""
        parents = tuple(ids.context_id(p) for p in self.reader.parents(ctx.id))
        [record_ctx] = self._keep_stored([self._context(ctx, parents)])
        executions, artifacts = self._members(ctx.id, record_ctx.id)
        if ctx.type in (tfx.PIPELINE, tfx.NODE):
            # Runs are read first: what a run of this ingest held is known without a call.
            executions = [
                ex
                for ex in executions
                if ex.id not in self._run_members[0]
                and not any(tfx.is_run(c.type) for c in self.reader.contexts_of_execution(ex.id))
            ]
            artifacts = [
                a
                for a in artifacts
                if a.id not in self._run_members[1]
                and not any(tfx.is_run(c.type) for c in self.reader.contexts_of_artifact(a.id))
            ]
        ex_ids = {ex.id: ids.generic_execution_id(ex, self.source_key) for ex in executions}
        return self._assemble(record_ctx.id, [record_ctx], executions, ex_ids, {}, artifacts)

    def orphan_execution(self, row: int) -> RunRecord:
        found = self.reader.executions_by_id([row])
        if not found:
            raise BadInputError(f"execution row {row} is no longer in the source")
        ex = found[0]
        ex_id = ids.generic_execution_id(ex, self.source_key)
        self.attributed_executions.add(ex.id)
        return self._assemble(ex_id, [], found, {ex.id: ex_id}, {}, [])

    def orphan_artifacts(self, rows: Sequence[int]) -> RunRecord:
        arts = self.reader.artifacts_by_id(rows)
        self.claimed_artifacts.update(a.id for a in arts)
        art_ids = self._artifact_ids(arts)
        return RunRecord(artifacts=tuple(self._artifact(a, art_ids[a.id], self.tfx) for a in arts))

    # --- parts -----------------------------------------------------------------

    def _members(
        self, context_row: int, label: str
    ) -> tuple[list[pb.Execution], list[pb.Artifact]]:
        """A context's nodes, claimed at once: even if the unit fails later, none of them
        may reappear in the store as an orphan (nothing of a failed run is written)."""
        gone_ex, gone_art = self.reader.gone_members(context_row)
        if gone_ex or gone_art:
            what = [f"execution row {r}" for r in sorted(gone_ex)]
            what += [f"artifact row {r}" for r in sorted(gone_art)]
            raise BadInputError(
                f"{label}: the source lists {', '.join(what)} in this run but does not hold "
                "it (a row deleted without its attributions and events)"
            )
        executions = self.reader.executions_in(context_row)
        artifacts = self.reader.artifacts_in(context_row)
        self.attributed_executions.update(ex.id for ex in executions)
        self.claimed_artifacts.update(a.id for a in artifacts)
        return executions, artifacts

    @staticmethod
    def _context(ctx: pb.Context, parents: tuple[str, ...] = ()) -> Context:
        stored_type = tfx.context_type(ctx.type)
        props = tfx.with_source_type(read_properties(ctx), ctx.type, stored_type)
        return Context(ids.context_id(ctx), stored_type, ctx.name, props, parents)

    def _contexts_of_run(self, ctx: pb.Context, more: Sequence[pb.Context] = ()) -> list[Context]:
        """The run and its parents: those the source links, and ``more`` (TFX links a run
        to its pipeline only through the executions both contexts hold)."""
        found = {p.id: p for p in self.reader.parents(ctx.id)}
        found.update((p.id, p) for p in more)
        parents = [self._context(p) for p in sorted(found.values(), key=lambda p: p.id)]
        run_ctx = self._context(ctx, tuple(dict.fromkeys(p.id for p in parents)))
        return self._keep_stored([*parents, run_ctx])

    def _keep_stored(self, contexts: list[Context]) -> list[Context]:
        """Contexts with what other sources stored on them kept (MLMD replaces a node's
        properties on update): the KFP API's run facts, a version's KFP ids. What the
        source says wins; parent links already stored stay named."""
        stored = {c.id: c for c in self.stored_contexts([c.id for c in contexts])}
        out = []
        for ctx in contexts:
            old = stored.get(ctx.id)
            if old is not None:
                ctx = Context(
                    ctx.id,
                    ctx.type,
                    ctx.name,
                    {**old.properties, **ctx.properties},
                    tuple(dict.fromkeys([*ctx.parents, *old.parents])),
                )
            out.append(ctx)
        return out

    def _cached_from(self, ex: pb.Execution, task_ids: Mapping[int, str]) -> str | None:
        original = ids.int_prop(ex, "cached_execution_id")
        if original is None:
            return None
        if original in task_ids:
            return task_ids[original]
        found = self.reader.executions_by_id([original])
        if not found:
            return None  # the original was deleted from the source: nothing to link
        if found[0].external_id:
            return str(found[0].external_id)
        for ctx in self.reader.contexts_of_execution(original):
            if ctx.type != KfpType.PIPELINE_RUN:
                continue  # KFP's cache: TFX records no cached_execution_id
            if ctx.id not in self._run_tasks:
                try:
                    self._run_tasks[ctx.id] = ids.run_task_ids(
                        ctx.name, self.reader.executions_in(ctx.id)
                    )
                except BadInputError:
                    return None  # the original's run is damaged; this run is not
            return self._run_tasks[ctx.id].get(original)
        return None

    def _artifact_ids(self, arts: Sequence[pb.Artifact]) -> dict[int, str]:
        wanted = {a.uri for a in arts if a.uri and not a.external_id} - set(self._uri_rows)
        self._uri_rows.update(self.reader.rows_by_uri(wanted))
        return ids.artifact_ids(arts, self._uri_rows, self.source_key)

    def _assemble(
        self,
        label: str,
        contexts: list[Context],
        executions: Sequence[pb.Execution],
        ex_ids: Mapping[int, str],
        extra: Mapping[int, Properties],
        artifacts: Sequence[pb.Artifact],
    ) -> RunRecord:
        in_unit = {ex.id: ex for ex in executions}
        arts = {a.id: a for a in artifacts}
        events = self.reader.events_of_executions(sorted(in_unit))
        wanted = sorted({e.artifact_id for e in events} - set(arts))
        if wanted:
            arts.update((a.id, a) for a in self.reader.artifacts_by_id(wanted))
            self.claimed_artifacts.update(wanted)
        for event in events:
            if event.artifact_id not in arts:
                raise BadInputError(
                    f"{label}: event {_event_text(event)} of execution "
                    f"{ex_ids[event.execution_id]} (source row {event.execution_id}) points at "
                    f"artifact row "
                    f"{event.artifact_id}, which the source does not hold"
                )
        self._check_foreign_events(label, in_unit, arts)
        art_ids = self._artifact_ids(list(arts.values()))
        return RunRecord(
            contexts=tuple(contexts),
            executions=tuple(
                self._execution(ex, ex_ids[ex.id], extra.get(ex.id, {}), ex.id in self._renamed)
                for ex in executions
            ),
            artifacts=tuple(self._artifact(a, art_ids[a.id], self.tfx) for a in arts.values()),
            events=tuple(
                Event(
                    ex_ids[e.execution_id],
                    art_ids[e.artifact_id],
                    EventType(pb.Event.Type.Name(e.type)),
                    tuple(s.key if s.HasField("key") else s.index for s in e.path.steps),
                )
                for e in events
            ),
        )

    def _check_foreign_events(
        self, label: str, in_unit: Mapping[int, pb.Execution], arts: Mapping[int, pb.Artifact]
    ) -> None:
        """Events seen from the artifacts' side reach executions of other units (a later
        run reading this run's model) or nowhere at all, which is damage to report."""
        self._known_executions.update(in_unit)
        foreign = {
            e.execution_id: e
            for e in self._events_of_artifacts(sorted(arts))
            if e.execution_id not in self._known_executions
        }
        if foreign:
            found = {ex.id for ex in self.reader.executions_by_id(sorted(foreign))}
            self._known_executions.update(found)
            for row, event in sorted(foreign.items()):
                if row not in found:
                    raise BadInputError(
                        f"{label}: event {_event_text(event)} on artifact "
                        f"{arts[event.artifact_id].uri or event.artifact_id} (source row "
                        f"{event.artifact_id}) points at execution row {row}, which the "
                        "source does not hold"
                    )

    def _events_of_artifacts(self, rows: Sequence[int]) -> list[pb.Event]:
        missing = [r for r in rows if r not in self._artifact_events]
        if missing:
            fetched: dict[int, list[pb.Event]] = {r: [] for r in missing}
            for event in self.reader.events_of_artifacts(missing):
                fetched[event.artifact_id].append(event)
            self._artifact_events.update(fetched)
        return [e for r in rows for e in self._artifact_events[r]]

    @staticmethod
    def _execution(ex: pb.Execution, ex_id: str, extra: Properties, renamed: bool) -> Execution:
        props = {**read_properties(ex), **extra}
        named = ex.HasField("name") and ex.name and not renamed
        return Execution(
            ex_id,
            ex.type,
            ex.name if named else None,
            ExecutionState(pb.Execution.State.Name(ex.last_known_state)),
            props,
        )

    @staticmethod
    def _artifact(art: pb.Artifact, art_id: str, from_tfx: bool) -> Artifact:
        stored_type = tfx.artifact_type(art.type, from_tfx)
        return Artifact(
            art_id,
            stored_type,
            art.uri,
            art.name if art.HasField("name") and art.name else None,
            ArtifactState(pb.Artifact.State.Name(art.state)),
            tfx.with_source_type(read_properties(art), art.type, stored_type),
        )
