"""Everything downstream of some starts, read straight from the projection two ways:
over the reach index (``lineage.graph.reach_index``) and by walking the data flow itself.

``verify`` checks the index by comparing the two; the Neo4j reader answers impact
with them (``lineage.query.readers.neo4j``), and builds its impact pages on the
same walk of the index (``indexed_walk``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from lineage.graph import reach_index
from lineage.graph.connect import Graph


class Walked(NamedTuple):
    """Sorted model and run ids; ``truncated`` when the walk hit its node budget."""

    models: tuple[str, ...]
    runs: tuple[str, ...]
    truncated: bool


# The reach index walked from the starts: over FEEDS_MODEL to every model downstream,
# and over FEEDS_RUN (from the starts and those models) to every run. Runs have no
# shortcuts of their own, so one pruning walk over both types reaches exactly these.
# No rows when a start is a task or unknown: the caller walks instead.
def indexed_walk(types: str) -> str:
    return (
        "MATCH (s:Node) WHERE s.id IN $starts WITH collect(s) AS ss "
        "WHERE size(ss) > 0 AND none(x IN ss WHERE x:Task) "
        f"CALL (ss) {{ UNWIND ss AS s MATCH (s)-[:{types}*1..]->(x:Node) RETURN DISTINCT x }} "
        "WITH ss, x WHERE NOT x IN ss "
    )


# Every id, one row each (streamed).
INDEXED_REACH = (
    indexed_walk(f"{reach_index.FEEDS_MODEL}|{reach_index.FEEDS_RUN}")
    + "RETURN x.id AS id, x:Model AS model"
)


def walked_reach(graph: Graph, starts: Sequence[str], budget: int) -> Walked:
    """Every model and run downstream by the data-flow walk itself (no index), cut at
    ``budget`` nodes: the reader's answer without the index, and verify's reference."""
    records = graph.run(
        "MATCH (s:Node) WHERE s.id IN $starts "
        f"MATCH (s)-[:{reach_index.FLOW}*1..]->(m:Node) "
        "WITH DISTINCT m WHERE NOT m.id IN $starts "
        "WITH m LIMIT $cap "
        "OPTIONAL MATCH (m)-[:PART_OF]->(r:Run) WHERE m:Task "
        "RETURN collect(DISTINCT CASE WHEN m:Artifact AND m.type = $model "
        "THEN m.id END) AS models, collect(DISTINCT r.id) AS runs, "
        "count(DISTINCT m) AS reached",
        "walking downstream for impact",
        starts=list(starts),
        model=reach_index.MODEL_TYPE,
        cap=budget + 1,
    )
    row = dict(records[0]) if records else {}
    truncated = int(row.get("reached", 0)) + len(starts) > budget
    return Walked(
        tuple(sorted(row.get("models", []))), tuple(sorted(row.get("runs", []))), truncated
    )


def indexed_reach(graph: Graph, starts: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """Every model and run downstream, sorted, from the reach index; None when the index
    cannot answer (a start is a task, or none is known)."""
    known = graph.run(
        "MATCH (s:Node) WHERE s.id IN $starts AND NOT s:Task RETURN count(s) AS n, "
        "COUNT { MATCH (t:Task) WHERE t.id IN $starts } AS tasks",
        "checking impact starts",
        starts=list(starts),
    )
    if not known or int(known[0]["n"]) == 0 or int(known[0]["tasks"]) > 0:
        return None
    records = graph.run(INDEXED_REACH, "walking the reach index for impact", starts=list(starts))
    models = sorted(r["id"] for r in records if r["model"])
    runs = sorted(r["id"] for r in records if not r["model"])
    return models, runs
