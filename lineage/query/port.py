"""The LineageReader port: the few primitives the lineage service needs of a backend.

Two adapters implement it: ``lineage.query.readers.mlmd.reader.MlmdReader`` (the embedded
default, reading MLMD events) and ``lineage.query.readers.neo4j.reader.Neo4jReader`` (Cypher
over the projection). The walks themselves (depth, limits, truncation) live once
in ``lineage.query.traverse``, so the two readers agree by construction: each
only answers "which edges touch these nodes" and "what are these nodes".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from lineage.model import Direction, EdgeKind, LineageEdge, LineageNode
from lineage.query.types import LineageQuery


@dataclass(frozen=True, slots=True)
class Expansion:
    """One step of a walk: the edges found and the nodes at their far ends."""

    edges: list[LineageEdge] = field(default_factory=list)
    nodes: dict[str, LineageNode] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reach:
    """Everything downstream of some start nodes, as ids, for impact.

    ``models`` and ``runs`` are sorted ids; ``truncated`` says the walk hit its
    node budget, so both lists may be incomplete.
    """

    models: tuple[str, ...]
    runs: tuple[str, ...]
    truncated: bool = False


class LineageReader(Protocol):
    """Read access to the lineage graph. Unknown ids are left out of answers, never raised."""

    @property
    def backend(self) -> str:
        """``mlmd`` or ``neo4j``."""
        ...

    def nodes(self, ids: Sequence[str]) -> dict[str, LineageNode]:
        """The nodes with these ids (lineage nodes only: no book-keeping contexts)."""
        ...

    def expand(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None = None,
    ) -> Expansion:
        """Every edge of these kinds that enters (UPSTREAM) or leaves (DOWNSTREAM) the ids,
        with the nodes at the other ends.

        BOTH gives the union. With ``as_of_ms``, edges whose other end was
        recorded after that time are left out. An edge exists only between two
        lineage nodes: a reference to a node the store lacks is no edge.
        """
        ...

    def find_images(self, digest: str, as_of_ms: int | None = None) -> list[LineageNode]:
        """Image nodes whose ``digest`` property equals ``digest`` or whose id starts with it."""
        ...

    def reach(self, starts: Sequence[str], as_of_ms: int | None, budget: int) -> Reach:
        """Every model artifact and run downstream of ``starts`` along the data flow.

        A run is downstream when one of its tasks is. The walk visits at most
        ``budget`` nodes and says so when it stops early.
        """
        ...

    def around(self, start: str, query: LineageQuery) -> LineageReader:
        """A reader for one walk from ``start``: the same answers, possibly from a copy of
        the neighbourhood fetched ahead (one round trip instead of one per level)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CappedExpansion:
    """One level of a walk cut to its first new nodes (see ``CappedExpand``).

    ``expansion`` holds the edges to ``known`` nodes and to the ``take`` new far nodes
    first in id order, with those nodes; ``more_nodes`` and ``more_edges`` count the
    distinct new far nodes and the edges left out, so a walk reports what it saw.
    """

    expansion: Expansion
    more_nodes: int = 0
    more_edges: int = 0


@runtime_checkable
class CappedExpand(Protocol):
    """A reader that can cut a level itself, so a 100,000-wide level cut to its first
    10,000 nodes sends 10,000 across, not 100,000."""

    def expand_capped(
        self,
        ids: Sequence[str],
        direction: Direction,
        edge_kinds: frozenset[EdgeKind],
        as_of_ms: int | None,
        known: Sequence[str],
        take: int,
    ) -> CappedExpansion | None:
        """``expand`` for one direction (not BOTH), keeping only what a walk that keeps
        at most ``take`` new nodes needs; None to have the walk call ``expand``."""
        ...
