"""``lineage ingest mlmd``: import a store KFP's v2 backend wrote, run by run.

Each run (KFP's ``system.PipelineRun`` context, TFX's ``pipeline_run``: see tfx_mlmd)
becomes one RunRecord, written in one transaction; contexts of other MLMD users become
one record each, and nodes that belong to no context are recorded on their own. See
mlmd_ids for the ids, mlmd_records for the records.

Incremental: a watermark per source (store state ``ingest:mlmd:<source>``) keeps the
newest ``last_update_time_since_epoch`` seen and which nodes carried it. The next ingest
reads only the units that hold a node updated since (the watermark's own nodes excluded
unless they changed), plus the units that failed last time. Every write is idempotent,
so a re-run after a crash (the watermark is only saved at the end) repeats work but
never duplicates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.ingest.kfp_mlmd import tfx
from lineage.ingest.kfp_mlmd.ids import context_id
from lineage.ingest.kfp_mlmd.read import HighWater, SourceReader
from lineage.ingest.kfp_mlmd.records import RecordBuilder
from lineage.ingest.kfp_mlmd.source_store import MlmdSource
from lineage.ingest.report import IngestReport
from lineage.ingest.units import Progress, Unit, write_units
from lineage.model import KfpType
from lineage.store.port import MetadataStore

# Orphan artifacts (in no context, touched by no event) are written in batches.
_ORPHAN_BATCH = 200


def watermark_key(source: MlmdSource) -> str:
    return f"ingest:mlmd:{source.identity}"


@dataclass
class _Affected:
    """What an ingest must read: contexts by row, and orphans."""

    contexts: set[int]
    executions: set[int]  # orphan executions
    artifacts: set[int]  # orphan artifacts


class KfpMlmdIngest:
    """One ingest of one source into the store. ``since_ms`` reads what changed since
    then and leaves the watermark alone; ``full`` reads everything (and saves it)."""

    def __init__(
        self,
        source: MlmdSource,
        store: MetadataStore,
        *,
        since_ms: int | None = None,
        full: bool = False,
    ) -> None:
        self.source = source
        self.store = store
        self.since_ms = since_ms
        self.full = full
        self.reader = SourceReader(source.mlmd, source.ghosts)
        self.builder = RecordBuilder(self.reader, source.key, store.get_contexts)
        self.report = IngestReport(f"mlmd {source.identity}")
        self._known = 0  # units planned so far, for the progress total
        # Whether the source held anything to read: reading nothing from it is an error.
        self.has_records = False

    def run(self, progress: Progress | None = None) -> IngestReport:
        """Write what is new; the caller decides whether the report is a failure."""
        mark = self.reader.high_water()  # before reading: later changes come next time
        state = self.store.get_state(watermark_key(self.source)) or {}
        since, at, retry = self._start(state)
        units = self._full_units() if since is None else self._incremental_units(since, at, retry)
        failed = write_units(
            self.store, units, self.report, total=lambda: self._known, progress=progress
        )
        self.has_records = self.report.read > 0 or (since is None and not self.reader.is_empty())
        if self.since_ms is None:
            self._save(mark, [u.key for u in failed])
        return self.report

    # --- the watermark --------------------------------------------------------

    def _start(self, state: dict[str, Any]) -> tuple[int | None, dict[str, set[int]], list[str]]:
        if self.since_ms is not None:
            return self.since_ms, {}, []
        if self.full or not state.get("since_ms"):
            return None, {}, []
        at = {kind: set(rows) for kind, rows in state.get("at", {}).items()}
        return int(state["since_ms"]), at, list(state.get("retry", []))

    def _save(self, mark: HighWater, retry: list[str]) -> None:
        value = {
            "since_ms": mark.ms,
            "at": {
                "contexts": sorted(mark.contexts),
                "executions": sorted(mark.executions),
                "artifacts": sorted(mark.artifacts),
            },
            "retry": retry,
        }
        # Writing an unchanged watermark would still bump its stamp: a no-op stays a no-op.
        if self.store.get_state(watermark_key(self.source)) != value:
            self.store.put_state(watermark_key(self.source), value)

    # --- planning ---------------------------------------------------------------

    def _context_units(self, contexts: list[pb.Context]) -> list[Unit]:
        """Runs first, then other contexts with parents before children."""
        runs = [c for c in contexts if tfx.is_run(c.type)]
        others: list[pb.Context] = []
        for ctx in contexts:
            if tfx.is_run(ctx.type):
                continue
            # A KFP pipeline context is written with each of its runs.
            if ctx.type == KfpType.PIPELINE and self.reader.children(ctx.id):
                continue
            others.append(ctx)
        depth: dict[int, int] = {}

        def depth_of(ctx: pb.Context, seen: frozenset[int] = frozenset()) -> int:
            if ctx.id not in depth:
                parents = [p for p in self.reader.parents(ctx.id) if p.id not in seen]
                depth[ctx.id] = 1 + max((depth_of(p, seen | {ctx.id}) for p in parents), default=-1)
            return depth[ctx.id]

        others.sort(key=lambda c: (depth_of(c), c.id))
        units = [self._run_unit(c) for c in sorted(runs, key=lambda c: c.id)]
        return units + [
            Unit(f"ctx:{c.id}", context_id(c), partial(self.builder.context, c)) for c in others
        ]

    def _run_unit(self, ctx: pb.Context) -> Unit:
        return Unit(f"ctx:{ctx.id}", context_id(ctx), partial(self.builder.run, ctx))

    def _orphan_units(self, executions: set[int], artifacts: set[int]) -> list[Unit]:
        """Nodes in no context, confirmed one by one with the source."""
        rows = [r for r in sorted(executions) if not self.reader.contexts_of_execution(r)]
        units = [
            Unit(f"ex:{r}", f"execution row {r}", partial(self.builder.orphan_execution, r))
            for r in rows
        ]
        # An orphan execution's record carries the artifacts its events touch.
        if rows:
            touched = {e.artifact_id for e in self.reader.events_of_executions(rows)}
            artifacts = artifacts - touched
        lone = [r for r in sorted(artifacts) if not self.reader.contexts_of_artifact(r)]
        for start in range(0, len(lone), _ORPHAN_BATCH):
            batch = lone[start : start + _ORPHAN_BATCH]
            units.append(
                Unit(
                    "art:" + ",".join(map(str, batch)),
                    f"artifact rows {batch[0]}..{batch[-1]}",
                    partial(self.builder.orphan_artifacts, batch),
                )
            )
        return units

    def _full_units(self) -> Iterator[Unit]:
        contexts = self.reader.contexts()
        units = self._context_units(contexts)
        self._known = len(units)
        yield from units
        # Once every context has claimed its nodes, what is left belongs to none.
        executions = {e.id for e in self.reader.executions()} - self.builder.attributed_executions
        artifacts = {a.id for a in self.reader.artifacts()} - self.builder.claimed_artifacts
        orphans = self._orphan_units(executions, artifacts)
        self._known += len(orphans)
        yield from orphans

    def _incremental_units(
        self, since: int, at: dict[str, set[int]], retry: list[str]
    ) -> Iterator[Unit]:
        affected = self._affected(since, at, retry)
        contexts = self.reader.contexts_by_id(sorted(affected.contexts))
        units = self._context_units(contexts) + self._orphan_units(
            affected.executions, affected.artifacts
        )
        self._known = len(units)
        yield from units

    def _affected(self, since: int, at: dict[str, set[int]], retry: list[str]) -> _Affected:
        def fresh(nodes: list[Any], kind: str) -> list[Any]:
            seen = at.get(kind, set())
            return [n for n in nodes if n.last_update_time_since_epoch > since or n.id not in seen]

        out = _Affected(set(), set(), set())
        for key in retry:
            kind, _, rows = key.partition(":")
            target = {"ctx": out.contexts, "ex": out.executions, "art": out.artifacts}.get(kind)
            if target is not None:
                target.update(int(r) for r in rows.split(",") if r.isdigit())
        for ctx in fresh(self.reader.changed(self.source.mlmd.get_contexts, since), "contexts"):
            if ctx.type == KfpType.PIPELINE:
                children = self.reader.children(ctx.id)
                out.contexts.update(c.id for c in children)
                if children:
                    continue
            out.contexts.add(ctx.id)
        for ex in fresh(self.reader.changed(self.source.mlmd.get_executions, since), "executions"):
            self._attribute(self.reader.contexts_of_execution(ex.id), out, out.executions, ex.id)
        for art in fresh(self.reader.changed(self.source.mlmd.get_artifacts, since), "artifacts"):
            contexts = self.reader.contexts_of_artifact(art.id)
            if contexts:
                self._attribute(contexts, out, out.artifacts, art.id)
                continue
            # An artifact in no context is written with the executions whose events touch it.
            users = {e.execution_id for e in self.reader.events_of_artifacts([art.id])}
            if not users:
                out.artifacts.add(art.id)
            for row in users:
                contexts = self.reader.contexts_of_execution(row)
                self._attribute(contexts, out, out.executions, row)
        return out

    @staticmethod
    def _attribute(contexts: list[pb.Context], out: _Affected, orphans: set[int], row: int) -> None:
        """A changed node re-reads its run; outside KFP runs, every context it is in."""
        runs = [c.id for c in contexts if tfx.is_run(c.type)]
        if runs:
            out.contexts.update(runs)
        elif contexts:
            out.contexts.update(c.id for c in contexts)
        else:
            orphans.add(row)
