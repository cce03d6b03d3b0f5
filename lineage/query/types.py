"""The questions the lineage service answers and the shapes of its answers.

Plain frozen data, shared by both readers (MLMD and Neo4j), the service, the CLI
and the GraphQL API. Tuples, not lists, so answers compare and hash; every
collection in an answer is sorted, so two readers that agree give equal answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lineage.model import EdgeKind, NodeKind, Properties

# The edges that carry data: lineage (upstream/downstream) walks these by default.
# PART_OF, VERSION_OF and PARENT_DAG describe where a task sits, not what fed it;
# a query may add them to ``LineageQuery.edge_kinds`` to walk them too.
DATA_FLOW: frozenset[EdgeKind] = frozenset(
    {
        EdgeKind.INPUT,
        EdgeKind.OUTPUT,
        EdgeKind.USES_IMAGE,
        EdgeKind.SNAPSHOT_OF,
        EdgeKind.CACHED_FROM,
        EdgeKind.REBUILT_FROM,
    }
)
ALL_EDGES: frozenset[EdgeKind] = frozenset(EdgeKind)

MAX_DEPTH = 1000  # deeper than any real pipeline chain; beyond it the input is a mistake
MAX_LIMIT = 100_000  # nodes in one lineage answer
DEFAULT_DEPTH = 10
DEFAULT_LIMIT = 1000
DEFAULT_PAGE = 100


class Direction(StrEnum):
    UPSTREAM = "UPSTREAM"  # against the arrows: what went into the start node
    DOWNSTREAM = "DOWNSTREAM"  # along the arrows: what the start node fed
    BOTH = "BOTH"  # both walks from the start node, each in its own direction


class Change(StrEnum):
    ADDED = "ADDED"  # only in the second model's lineage
    REMOVED = "REMOVED"  # only in the first
    CHANGED = "CHANGED"  # in both, with different values


class DiffCategory(StrEnum):
    DATA = "DATA"  # input data digests (artifact ``digest`` property, else its uri)
    SNAPSHOT = "SNAPSHOT"  # snapshots of upstream artifacts
    PARAMETER = "PARAMETER"  # task input parameters
    IMAGE = "IMAGE"  # container images (digest, tag)
    SOURCE = "SOURCE"  # component source digests
    SPEC = "SPEC"  # the pipeline spec digest (pipeline version id)
    RUN = "RUN"  # the run that produced the model and its state


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One node of the lineage graph, whichever reader found it.

    ``type`` is the MLMD type name (``system.Model``, ``system.ContainerExecution``,
    ``lineage.Image``...); ``state`` is the execution's last known state or the
    artifact's state (None for contexts); ``created_ms`` is when the store
    recorded it (the basis of as-of queries). In an as-of answer the state is the
    one the node had then (lineage.query.asof); ``state_known_as_of`` is False when
    the store holds no record of its state at that time, and the state is then None.
    """

    id: str
    kind: NodeKind
    name: str
    type: str
    properties: Properties = field(default_factory=dict)
    uri: str | None = None
    state: str | None = None
    created_ms: int = 0
    state_known_as_of: bool = True


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """A directed edge, in the direction data flows (see ``EdgeKind``).

    ``key`` is the input or output name for INPUT and OUTPUT edges (KFP's event
    path key), how the image is known for USES_IMAGE, else None.
    """

    source: str
    target: str
    kind: EdgeKind
    key: str | None = None

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.source, self.target, self.kind.value, self.key or "")


@dataclass(frozen=True, slots=True)
class LineageQuery:
    """A bounded walk from ``start``.

    ``depth`` counts edges (artifact -> task -> artifact is two). ``kinds``
    filters the nodes returned (the walk still passes through the others, so
    "every dataset upstream of this model" works); None returns every kind.
    ``stop_at`` nodes are returned but not walked past. ``limit`` caps the
    nodes returned, start included. ``as_of_ms`` restricts the walk to nodes
    the store recorded at or before that time.
    """

    start: str
    direction: Direction = Direction.UPSTREAM
    depth: int = DEFAULT_DEPTH
    kinds: frozenset[NodeKind] | None = None
    stop_at: frozenset[NodeKind] = frozenset()
    limit: int = DEFAULT_LIMIT
    as_of_ms: int | None = None
    edge_kinds: frozenset[EdgeKind] = DATA_FLOW


@dataclass(frozen=True, slots=True)
class LineageAnswer:
    """The nodes and edges a walk reached, sorted by id.

    ``truncated`` is true when the depth or the node limit cut the walk while
    more was reachable; ``truncated_by`` says which ("depth" or "limit").
    ``frontier`` lists the returned nodes whose neighbours were not walked
    because of the cut. ``nodes_seen`` counts every distinct node the walk
    touched, kept or not; ``depth_reached`` is the deepest level returned.
    """

    start: LineageNode
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    truncated: bool
    truncated_by: str | None
    depth_reached: int
    nodes_seen: int
    edges_seen: int
    frontier: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImpactQuery:
    """Everything downstream of an image digest, an artifact or a snapshot.

    Exactly one of ``image``, ``artifact`` and ``snapshot`` is set. ``image``
    matches lineage.Image artifacts by their ``digest`` property or by an id
    prefix (``image:repo@sha256:...``). Pages hold ``first`` items each; pass
    the answer's ``cursor`` as ``after`` for the next page.
    """

    image: str | None = None
    artifact: str | None = None
    snapshot: str | None = None
    first: int = DEFAULT_PAGE
    after: str | None = None
    as_of_ms: int | None = None
    # False: the caller needs no totals (a GraphQL query that selects no count), so a
    # reader may answer the page without walking everything downstream; the
    # answer's ``counted`` is then False and its totals are -1.
    count: bool = True
    # With ``count``, False: only the model total is wanted (GraphQL ``totalCount``
    # without ``totalRuns``); a reader may skip counting runs, which costs more than
    # the models from a hub. ``total_runs`` is then -1.
    count_runs: bool = True


@dataclass(frozen=True, slots=True)
class ImpactAnswer:
    """Downstream models (artifacts of type system.Model) and runs, paged by id.

    ``total_models`` and ``total_runs`` count everything downstream, not just
    this page. ``cursor`` is None on the last page. ``truncated`` is true when
    the walk hit its node budget, so the totals are lower bounds.
    """

    sources: tuple[LineageNode, ...]  # the nodes the walk started from
    models: tuple[LineageNode, ...]
    runs: tuple[LineageNode, ...]
    total_models: int
    total_runs: int
    cursor: str | None
    truncated: bool = False
    # False: the totals were not asked for and are -1 (``total_runs`` is -1 as well when
    # only the model total was asked for, ``ImpactQuery.count_runs``).
    counted: bool = True


@dataclass(frozen=True, slots=True)
class PathAnswer:
    """A shortest path from ``source`` to ``target`` along the data flow.

    ``nodes`` runs from source to target; empty when there is none within
    ``max_depth`` (then ``found`` is False). When the data flows from target to
    source instead, the path is reported in that direction and ``reversed`` is True.
    """

    source: str
    target: str
    found: bool
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    reversed: bool = False
    truncated: bool = False  # the search was cut by its depth or budget before an answer


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One difference between two models' upstream lineage.

    ``key`` names what differs within its category: for a parameter
    ``<task name>/<parameter>``, for data ``<task name>/<input name>``, for an
    image ``<task name>``, for the run ``state``/``id``. ``before`` is the first
    model's value, ``after`` the second's (None when absent).
    """

    category: DiffCategory
    key: str
    before: str | None
    after: str | None
    change: Change


@dataclass(frozen=True, slots=True)
class DiffAnswer:
    a: LineageNode
    b: LineageNode
    entries: tuple[DiffEntry, ...]  # sorted by category, then key
    truncated: bool = False  # an upstream walk was cut: the diff may miss entries

    @property
    def same(self) -> bool:
        return not self.entries
