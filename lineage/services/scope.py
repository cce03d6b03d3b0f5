"""Namespace scoping: which lineage nodes a principal may see, and a reader that sees no more.

A run belongs to the KFP namespace in its ``namespace`` property (KFP writes it on
the run context). A task belongs to its run's namespace (or its own ``namespace``
property, which KFP writes on container executions). An artifact, image or
snapshot is visible when a task that produced or read it is visible (a snapshot
through the artifact it snapshots). Pipelines carry a namespace when KFP gave them
one; pipeline versions are content-addressed specs shared by all.

A snapshot can be visible to a namespace only because it is shared: another
namespace's tasks read it, or it was taken of data another namespace made. Its
``uri`` and ``store`` then name that namespace's snapshot store; they are redacted,
and its ``redacted`` property says which were (``redact_snapshot``). A snapshot
belongs to the namespaces of the tasks that read it, or, read by none, to those of
the task that made its source (anyone's when the source was made by no task).

``ScopedReader`` wraps the lineage reader so that the shared walks of the query
service (lineage, impact, diff, path) never step onto a hidden node: a namespace
token sees the subgraph of its namespaces, and every total counts only that. An
impact page without totals is answered from the inner reader's fast pages when
it has them, filtered the same way.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from lineage import model
from lineage.model import Direction, EdgeKind, LineageNode, NodeKind
from lineage.query.paging import PagedReach, ReachPage
from lineage.query.port import Expansion, LineageReader, Reach
from lineage.query.types import LineageQuery
from lineage.services.scoped_impact import scoped_page

_TASK_LINKS = frozenset({EdgeKind.INPUT, EdgeKind.OUTPUT, EdgeKind.USES_IMAGE})
_PART_OF = frozenset({EdgeKind.PART_OF})
_SNAPSHOT_OF = frozenset({EdgeKind.SNAPSHOT_OF})
_INPUT = frozenset({EdgeKind.INPUT})
_OUTPUT = frozenset({EdgeKind.OUTPUT})

# The note a redacted snapshot carries, as its ``redacted`` property.
REDACTED = "redacted"
REDACTED_NOTE = "uri,store: shared from another namespace, whose snapshot store they name"
# The properties of a snapshot that name where its blobs are kept.
_LOCATIONS = ("store",)

N = TypeVar("N", LineageNode, model.Artifact)


class Viewer(Protocol):
    """Who asks: the API's principal, or any face's caller with namespaces."""

    def sees_namespace(self, namespace: str) -> bool: ...


def redact_snapshot(node: N) -> N:
    """The snapshot without the locations of another namespace's store, and a note."""
    props = {k: v for k, v in node.properties.items() if k not in _LOCATIONS}
    props[REDACTED] = REDACTED_NOTE
    return dataclasses.replace(node, uri="", properties=props)


def _namespace(node: LineageNode) -> str | None:
    value = node.properties.get("namespace")
    return value if isinstance(value, str) and value else None


def pipeline_namespace(node_id: str) -> str | None:
    """``pipeline:<namespace>/<name>`` names its namespace; ``pipeline:<name>`` has none."""
    rest = node_id.removeprefix("pipeline:")
    return rest.split("/", 1)[0] if rest != node_id and "/" in rest else None


class Visibility:
    """Decides visibility through the (unscoped) reader, caching every verdict for one request.

    Calls come from worker threads; a lock keeps the cache consistent.
    """

    def __init__(self, reader: LineageReader, principal: Viewer, default_namespace: str) -> None:
        self.reader = reader
        self.principal = principal
        self.default_namespace = default_namespace
        self._known: dict[str, bool] = {}
        self._foreign: dict[str, bool] = {}  # snapshot id -> shared from another namespace
        self._lock = threading.RLock()

    def visible(self, ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            todo = [i for i in wanted if i not in self._known]
            if todo:
                found = self.reader.nodes(todo)
                for node_id in todo:
                    if node_id not in found:
                        self._known[node_id] = False
                self._decide(found)
            return {i for i in wanted if self._known[i]}

    def visible_nodes(self, nodes: Mapping[str, LineageNode]) -> set[str]:
        with self._lock:
            self._decide({i: n for i, n in nodes.items() if i not in self._known})
            return {i for i in nodes if self._known.get(i)}

    def foreign_snapshots(self, ids: Iterable[str]) -> set[str]:
        """Of these visible snapshot ids, those another namespace owns (see the module)."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            todo = [i for i in wanted if i not in self._foreign]
            if todo:
                self._decide_foreign(todo)
            return {i for i in wanted if self._foreign[i]}

    def _decide_foreign(self, snapshots: list[str]) -> None:
        readers = self.reader.expand(snapshots, Direction.DOWNSTREAM, _INPUT)
        sources = self.reader.expand(snapshots, Direction.UPSTREAM, _SNAPSHOT_OF)
        source_ids = [i for i in sources.nodes if i not in snapshots]
        makers = self.reader.expand(source_ids, Direction.UPSTREAM, _OUTPUT)
        seen = self.visible([*readers.nodes, *source_ids, *makers.nodes])
        read_by: dict[str, set[str]] = {}
        for e in readers.edges:
            read_by.setdefault(e.source, set()).add(e.target)
        source_of: dict[str, set[str]] = {}
        for e in sources.edges:
            source_of.setdefault(e.target, set()).add(e.source)
        made_by: dict[str, set[str]] = {}
        for e in makers.edges:
            made_by.setdefault(e.target, set()).add(e.source)
        for snapshot in snapshots:
            if read_by.get(snapshot):
                owned = bool(read_by[snapshot] & seen)
            else:
                owned = any(
                    src in seen and (not made_by.get(src) or bool(made_by[src] & seen))
                    for src in source_of.get(snapshot, ())
                )
            self._foreign[snapshot] = not owned

    def redact(self, nodes: Sequence[N]) -> list[N]:
        """These visible nodes as this principal may read them: shared snapshots redacted."""
        snapshots = [n.id for n in nodes if _is_snapshot(n)]
        if not snapshots:
            return list(nodes)
        foreign = self.foreign_snapshots(snapshots)
        return [redact_snapshot(n) if n.id in foreign else n for n in nodes]

    def _ns_ok(self, namespace: str | None) -> bool:
        return self.principal.sees_namespace(namespace or self.default_namespace)

    def _decide(self, nodes: Mapping[str, LineageNode]) -> None:
        by_kind: dict[NodeKind, list[LineageNode]] = {}
        for node in nodes.values():
            by_kind.setdefault(node.kind, []).append(node)
        for node in by_kind.get(NodeKind.RUN, []) + by_kind.get(NodeKind.RECURRING_RUN, []):
            self._known[node.id] = self._ns_ok(_namespace(node))
        for node in by_kind.get(NodeKind.PIPELINE, []):
            namespace = _namespace(node) or pipeline_namespace(node.id)
            self._known[node.id] = namespace is None or self.principal.sees_namespace(namespace)
        for node in by_kind.get(NodeKind.PIPELINE_VERSION, []):
            self._known[node.id] = True
        self._tasks(by_kind.get(NodeKind.TASK, []))
        linked = by_kind.get(NodeKind.ARTIFACT, []) + by_kind.get(NodeKind.IMAGE, [])
        self._through(linked, Direction.BOTH, _TASK_LINKS)
        self._snapshots(by_kind.get(NodeKind.SNAPSHOT, []))
        self._rebuilds(by_kind.get(NodeKind.REBUILD, []))

    def _tasks(self, tasks: Sequence[LineageNode]) -> None:
        undecided = []
        for task in tasks:
            namespace = _namespace(task)
            if namespace is not None:
                self._known[task.id] = self._ns_ok(namespace)
            else:
                undecided.append(task)
        self._through(undecided, Direction.DOWNSTREAM, _PART_OF)

    def _through(
        self, nodes: Sequence[LineageNode], direction: Direction, kinds: frozenset[EdgeKind]
    ) -> None:
        """A node is visible when any neighbour across these edges is."""
        if not nodes:
            return
        ids = [n.id for n in nodes]
        mine = set(ids)
        step = self.reader.expand(ids, direction, kinds)
        self._decide({i: n for i, n in step.nodes.items() if i not in self._known})
        for node_id in ids:
            self._known[node_id] = False
        for edge in step.edges:
            for near, far in ((edge.source, edge.target), (edge.target, edge.source)):
                if near in mine and self._known.get(far):
                    self._known[near] = True

    def _snapshots(self, snapshots: Sequence[LineageNode]) -> None:
        if not snapshots:
            return
        ids = [n.id for n in snapshots]
        mine = set(ids)
        sources = self.reader.expand(ids, Direction.UPSTREAM, _SNAPSHOT_OF)
        readers = self.reader.expand(ids, Direction.DOWNSTREAM, _INPUT)
        neighbours = {**sources.nodes, **readers.nodes}
        self._decide({i: n for i, n in neighbours.items() if i not in self._known})
        for node_id in ids:
            self._known[node_id] = False
        for edge in sources.edges + readers.edges:
            near, far = (
                (edge.target, edge.source) if edge.target in mine else (edge.source, edge.target)
            )
            if self._known.get(far):
                self._known[near] = True

    def _rebuilds(self, rebuilds: Sequence[LineageNode]) -> None:
        """A rebuild names and judges both sides of every pair it compared: visible only
        when every artifact it read is (hidden, meanwhile, so that deciding those
        artifacts, whose INPUT edges lead back here, ends)."""
        if not rebuilds:
            return
        ids = [n.id for n in rebuilds]
        for node_id in ids:
            self._known[node_id] = False
        step = self.reader.expand(ids, Direction.UPSTREAM, _INPUT)
        self._decide({i: n for i, n in step.nodes.items() if i not in self._known})
        read: dict[str, list[str]] = {}
        for edge in step.edges:
            read.setdefault(edge.target, []).append(edge.source)
        for node_id in ids:
            sides = read.get(node_id, [])
            self._known[node_id] = bool(sides) and all(self._known.get(a) for a in sides)


def _is_snapshot(node: LineageNode | model.Artifact) -> bool:
    if isinstance(node, LineageNode):
        return node.kind is NodeKind.SNAPSHOT
    return node.type == model.LineageType.SNAPSHOT


class ScopedReader:
    """A LineageReader that shows only what a Visibility allows."""

    def __init__(self, inner: LineageReader, visibility: Visibility) -> None:
        self.inner = inner
        self.visibility = visibility

    @property
    def backend(self) -> str:
        return self.inner.backend

    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        found = self.inner.nodes(ids)
        keep = self.visibility.visible_nodes(found)
        shown = self.visibility.redact([n for i, n in found.items() if i in keep])
        return {n.id: n for n in shown}

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        step = self.inner.expand(ids, direction, edge_kinds, as_of_ms)
        keep = self.visibility.visible_nodes(step.nodes) | self.visibility.visible(ids)
        shown = self.visibility.redact([n for i, n in step.nodes.items() if i in keep])
        return Expansion(
            edges=[e for e in step.edges if e.source in keep and e.target in keep],
            nodes={n.id: n for n in shown},
        )

    def around(self, start: str, query: LineageQuery) -> ScopedReader:
        # The inner reader may prefetch the neighbourhood; what it returns is still filtered.
        return ScopedReader(self.inner.around(start, query), self.visibility)

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        images = self.inner.find_images(digest, as_of_ms)
        keep = self.visibility.visible_nodes({n.id: n for n in images})
        return [n for n in images if n.id in keep]

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        # The walk itself may pass hidden tasks (a shared dataset's producer); only
        # what it reports is filtered, so a hidden run or model never shows.
        found = self.inner.reach(starts, as_of_ms, budget)
        keep = self.visibility.visible([*found.models, *found.runs])
        return Reach(
            models=tuple(m for m in found.models if m in keep),
            runs=tuple(r for r in found.runs if r in keep),
            truncated=found.truncated,
        )

    def reach_page(
        self,
        starts: Sequence[str],
        after_model: str | None,
        after_run: str | None,
        first: int,
        count: bool,
        budget: int,
        *,
        count_runs: bool = True,
    ) -> ReachPage | None:
        """An uncounted page from the inner reader's pages (``lineage.services.scoped_impact``);
        None (the generic walk through ``reach``) for totals, which must count only what
        the token sees, and for an inner reader that cannot page."""
        if count or not isinstance(self.inner, PagedReach):
            return None
        return scoped_page(
            self.inner, self.visibility, starts, after_model, after_run, first, budget
        )

    def close(self) -> None:
        """The inner reader belongs to the app, which closes it."""
