"""The embedded LineageReader: walks MLMD's own events, needing no Neo4j.

Each ``expand`` reads the events of a whole frontier in batched calls
(get_events_by_artifact_ids / get_events_by_execution_ids), then the rows at
their far ends, and applies the shared projection rules to them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lineage.model import (
    REBUILD_ORIGINAL_KEY,
    REBUILD_REBUILT_KEY,
    Direction,
    EdgeKind,
    KfpType,
    LineageEdge,
    LineageNode,
    NodeKind,
)
from lineage.query import impact
from lineage.query.port import Expansion, Reach
from lineage.query.types import LineageQuery
from lineage.store import row_rules
from lineage.store.port import MetadataStore
from lineage.store.row_scan import MlmdClient, list_options
from lineage.store.rows import Row, rows_for

# A digest (sha256:<hex>) or an image id (image:<repository>@<digest>), or a prefix of one:
# the characters of OCI references, none of which means anything in MLMD's filter syntax.
IMAGE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,511}")

_EVENT_EDGES = frozenset(
    {
        EdgeKind.INPUT,
        EdgeKind.OUTPUT,
        EdgeKind.USES_IMAGE,
        EdgeKind.SNAPSHOT_OF,
        EdgeKind.REBUILT_FROM,
    }
)


class _Step:
    """Collects the edges of one expand, keeping only those whose far end is visible."""

    def __init__(self, as_of_ms: int | None) -> None:
        self.as_of_ms = as_of_ms
        self.out = Expansion()

    def add(self, edge: LineageEdge | None, far: LineageNode | None) -> None:
        if edge is None or far is None:
            return
        if self.as_of_ms is not None and far.created_ms > self.as_of_ms:
            return
        self.out.edges.append(edge)
        self.out.nodes[far.id] = far


class MlmdReader:
    """Construct with an open ``MlmdStore`` (preferred: it lends its SQL fast path for
    attributions) or with a raw MLMD client."""

    def __init__(self, source: MetadataStore | MlmdClient) -> None:
        self.rows = rows_for(source)

    @property
    def backend(self) -> str:
        return "mlmd"

    def close(self) -> None:
        pass

    def around(self, start: str, query: LineageQuery) -> MlmdReader:
        self.rows.take_recent()  # a new walk starts from fresh rows
        return self  # MLMD walks level by level; its calls are local, not round trips

    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        return {i: r.node for i, r in self.rows.by_ids(ids).items() if r.node is not None}

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        from lineage.model import LineageType

        if not IMAGE_KEY.fullmatch(digest):
            # Only a digest or an image id goes into the filter below, never other text;
            # anything else names no image (as in the Neo4j reader, which finds none).
            return []
        type_id = self.rows.type_id("artifact", LineageType.IMAGE)
        if type_id is None:
            return []
        text = digest
        # LIKE's wildcard `_` may match more; the prefix match is checked again below.
        query = (
            f"type_id = {type_id} AND (custom_properties.digest.string_value = '{text}' "
            f"OR external_id LIKE '{text}%')"
        )
        protos = self.rows.scan.listed("artifact", list_options(query))
        found = [row_rules.artifact_node(p, LineageType.IMAGE.value) for p in protos]
        return [
            n
            for n in sorted(found, key=lambda n: n.id)
            if (n.properties.get(row_rules.DIGEST) == digest or n.id.startswith(digest))
            and (as_of_ms is None or n.created_ms <= as_of_ms)
        ]

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        models, tasks, truncated = impact.downstream(self, starts, as_of_ms, budget)
        rows = self.rows.by_ids(tasks)
        runs = self.rows.context_runs([r.row for r in rows.values()], KfpType.PIPELINE_RUN)
        run_ids = sorted(
            r.node.id
            for r in runs
            if r.node is not None and (as_of_ms is None or r.node.created_ms <= as_of_ms)
        )
        return Reach(tuple(models), tuple(run_ids), truncated)

    # --- the one primitive every walk is made of --------------------------

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        step = _Step(as_of_ms)
        recent = self.rows.take_recent()
        rows = {i: recent[i] for i in ids if i in recent}
        missing = [i for i in ids if i not in recent]
        if missing:
            rows.update(self.rows.by_ids(missing))
        directions = (
            [Direction.UPSTREAM, Direction.DOWNSTREAM]
            if direction is Direction.BOTH
            else [direction]
        )
        for way in directions:
            if edge_kinds & _EVENT_EDGES:
                self._events(rows, way, edge_kinds, step)
            if EdgeKind.CACHED_FROM in edge_kinds or EdgeKind.PARENT_DAG in edge_kinds:
                self._references(rows, way, edge_kinds, step)
            if edge_kinds & {EdgeKind.PART_OF, EdgeKind.VERSION_OF, EdgeKind.TRIGGERED_BY}:
                self._contexts(rows, way, edge_kinds, step)
        return step.out

    def _events(
        self, rows: dict[str, Row], way: Direction, kinds: frozenset[EdgeKind], step: _Step
    ) -> None:
        up = way is Direction.UPSTREAM
        # Images have no upstream (projection rule): skip reading their many events.
        artifacts = {
            r.row: r
            for r in rows.values()
            if r.cls == "artifact"
            and not (up and r.node is not None and r.node.kind is NodeKind.IMAGE)
        }
        tasks = {r.row: r for r in rows.values() if r.cls == "execution"}
        events = self.rows.events_of_artifacts(list(artifacts))
        # From an artifact: upstream, the tasks that wrote it; downstream, those that read it.
        wanted = row_rules.is_output if up else row_rules.is_input
        from_artifacts = [e for e in events if wanted(e)]
        executions = self.rows.by_rows("execution", {e.execution_id for e in from_artifacts})
        snapshotting = [r for r in executions.values() if r.type == row_rules.SNAPSHOTTING]
        for event in from_artifacts:
            task = executions.get(event.execution_id)
            if task is None or task.node is None:
                continue
            art = artifacts[event.artifact_id].node
            assert art is not None
            edge = row_rules.event_edge(event, task.node, art)
            if edge is not None and edge.kind in kinds:
                step.add(edge, task.node)
        if snapshotting and EdgeKind.SNAPSHOT_OF in kinds:
            self._fold_snapshots(up, snapshotting, from_artifacts, executions, artifacts, step)
        if EdgeKind.REBUILT_FROM in kinds:
            self._rebuilt_from(artifacts, events, up, step)
        if tasks:
            # From a task: upstream, the artifacts it read; downstream, those it wrote.
            wanted = row_rules.is_input if up else row_rules.is_output
            task_events = [e for e in self.rows.events_of_executions(list(tasks)) if wanted(e)]
            arts = self.rows.by_rows("artifact", {e.artifact_id for e in task_events})
            for event in task_events:
                art_row = arts.get(event.artifact_id)
                task_node = tasks[event.execution_id].node
                if art_row is None or art_row.node is None or task_node is None:
                    continue
                edge = row_rules.event_edge(event, task_node, art_row.node)
                if edge is not None and edge.kind in kinds:
                    step.add(edge, art_row.node)

    def _fold_snapshots(
        self,
        up: bool,
        snapshotting: list[Row],
        from_artifacts: list[Any],
        executions: dict[int, Row],
        artifacts: dict[int, Row],
        step: _Step,
    ) -> None:
        # Fold snapshotting: reach across it to the artifacts on its other side.
        other = self.rows.events_of_executions([r.row for r in snapshotting])
        far_events = [e for e in other if (row_rules.is_input if up else row_rules.is_output)(e)]
        fars = self.rows.by_rows("artifact", {e.artifact_id for e in far_events})
        near_of: dict[int, list[int]] = {}
        for event in from_artifacts:
            if executions[event.execution_id].type == row_rules.SNAPSHOTTING:
                near_of.setdefault(event.execution_id, []).append(event.artifact_id)
        for event in far_events:
            far = fars.get(event.artifact_id)
            if far is None or far.node is None:
                continue
            for near_row in near_of.get(event.execution_id, []):
                near = artifacts[near_row].node
                assert near is not None
                edge = (
                    row_rules.snapshot_edge(far.node, near)
                    if up
                    else row_rules.snapshot_edge(near, far.node)
                )
                step.add(edge, far.node)

    def _rebuilt_from(
        self, artifacts: dict[int, Row], events: list[Any], up: bool, step: _Step
    ) -> None:
        """Fold rebuilds: from a rebuilt artifact upstream to its original, from an
        original downstream to its rebuilt copies, across the rebuild that read both."""
        near_side = REBUILD_REBUILT_KEY if up else REBUILD_ORIGINAL_KEY
        near = [e for e in events if (row_rules.rebuild_side(e) or ("", 0))[0] == near_side]
        rebuilds = {
            row: r
            for row, r in self.rows.by_rows("execution", {e.execution_id for e in near}).items()
            if r.type == row_rules.REBUILDING and r.node is not None
        }
        if not rebuilds:
            return
        mine_ids = {a.node.id for a in artifacts.values() if a.node is not None}
        other = self.rows.events_of_executions(list(rebuilds))
        fars = self.rows.by_rows("artifact", {e.artifact_id for e in other})
        for row, rebuild in rebuilds.items():
            sides: dict[tuple[str, int], LineageNode] = {}
            for event in other:
                side = row_rules.rebuild_side(event) if event.execution_id == row else None
                far = fars.get(event.artifact_id)
                if side is not None and far is not None and far.node is not None:
                    sides[side] = far.node
            assert rebuild.node is not None
            for edge in row_rules.rebuild_pairs(sides, rebuild.node.id):
                mine, far_id = (edge.target, edge.source) if up else (edge.source, edge.target)
                if mine in mine_ids:
                    step.add(edge, sides_node(sides, far_id))

    def _references(
        self, rows: dict[str, Row], way: Direction, kinds: frozenset[EdgeKind], step: _Step
    ) -> None:
        tasks = [
            r.node for r in rows.values() if r.node is not None and r.node.kind is NodeKind.TASK
        ]
        if not tasks:
            return
        up = way is Direction.UPSTREAM
        # CACHED_FROM runs original -> cached; PARENT_DAG child -> DAG. A task's own
        # property points at the edge's source for CACHED_FROM, its target for PARENT_DAG.
        for kind, key, own_points_up in (
            (EdgeKind.CACHED_FROM, row_rules.CACHED_FROM, True),
            (EdgeKind.PARENT_DAG, row_rules.PARENT_TASK, False),
        ):
            if kind not in kinds:
                continue
            if up == own_points_up:
                refs = {t.id: row_rules.reference(t, key) for t in tasks}
                found = self.rows.by_ids([r for r in refs.values() if r])
                for task in tasks:
                    ref = refs[task.id]
                    far = found[ref].node if ref and ref in found else None
                    if far is None or far.kind is not NodeKind.TASK:
                        continue
                    edge = (
                        LineageEdge(far.id, task.id, kind)
                        if own_points_up
                        else LineageEdge(task.id, far.id, kind)
                    )
                    step.add(edge, far)
            else:
                naming = self.rows.executions_naming(key, [t.id for t in tasks])
                for row in naming.values():
                    far = row.node
                    ref = row_rules.reference(far, key) if far is not None else None
                    if far is None or ref is None:
                        continue
                    edge = (
                        LineageEdge(ref, far.id, kind)
                        if own_points_up
                        else LineageEdge(far.id, ref, kind)
                    )
                    step.add(edge, far)

    def _contexts(
        self, rows: dict[str, Row], way: Direction, kinds: frozenset[EdgeKind], step: _Step
    ) -> None:
        up = way is Direction.UPSTREAM
        tasks = [r for r in rows.values() if r.node is not None and r.node.kind is NodeKind.TASK]
        contexts = [r for r in rows.values() if r.cls == "context" and r.node is not None]
        if not up and tasks and EdgeKind.PART_OF in kinds:
            attributed = self.rows.contexts_of_executions([t.row for t in tasks])
            for task in tasks:
                for ctx in attributed.get(task.row, []):
                    if task.node is not None and ctx.node is not None:
                        step.add(row_rules.part_of(task.node, ctx.node), ctx.node)
        for ctx in contexts:
            node = ctx.node
            assert node is not None
            if not up:
                for parent in self.rows.parents(ctx.row):
                    if parent.node is not None:
                        self._context_edge(
                            step, kinds, row_rules.context_edge(node, parent.node), parent.node
                        )
                continue
            for child in self.rows.children(ctx.row):
                if child.node is not None:
                    self._context_edge(
                        step, kinds, row_rules.context_edge(child.node, node), child.node
                    )
            if node.kind is NodeKind.RUN and EdgeKind.PART_OF in kinds:
                for task in self.rows.executions_of_context(ctx.row):
                    if task.node is not None:
                        step.add(row_rules.part_of(task.node, node), task.node)

    @staticmethod
    def _context_edge(step: _Step, kinds: frozenset[EdgeKind], edge: LineageEdge, far: Any) -> None:
        if edge.kind in kinds:
            step.add(edge, far)


def sides_node(sides: dict[tuple[str, int], LineageNode], node_id: str) -> LineageNode | None:
    return next((n for n in sides.values() if n.id == node_id), None)
