"""Impact pages answered inside Neo4j (see ``lineage.query.paging``).

Three ways, each giving exactly the page the generic walk would:
- indexed: over the reach index (``lineage.graph.hops``), the starts' models
  are a walk of models alone and their runs one hop further; counted and paged
  server-side. Used whenever the projection carries the index and no start is
  a task (a start task's own run is not downstream of it; the index cannot
  tell), and the answer is then exact, never cut by the walk budget;
- counted: one query walks the downstream closure (the planner's pruning
  var-length expand visits each node once), then counts and pages models and
  runs server-side, so only the page's ids cross the wire, not the closure;
- uncounted: candidates in id order (the id index gives the order), each
  checked by an existence test of a path from a start. That is fast when most
  candidates are reached (a hub dataset, an image); when too few of the first
  ``scan`` candidates are, the answer is None and the caller walks instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from lineage.graph import hops, rows
from lineage.graph.connect import Graph
from lineage.query.paging import ReachPage
from lineage.query.types import DATA_FLOW, LineageNode

MODEL_TYPE = "system.Model"
FLOW = "|".join(sorted(k.value for k in DATA_FLOW))
SCAN_FACTOR, SCAN_EXTRA = 2, 100  # candidates checked before giving up: 2 * (first + 1) + 100

# Starts are excluded by node identity: reading the id of every reached node costs more.
_CLOSURE = (
    "MATCH (s:Node) WHERE s.id IN $starts WITH collect(s) AS ss UNWIND ss AS s "
    f"MATCH (s)-[:{FLOW}*1..]->(m:Node) "
    "WITH DISTINCT m, ss WHERE NOT m IN ss "
    "WITH m LIMIT $cap "
)

# Streams the closure (a collect of 200,000 nodes would pass the transaction memory
# cap); only the model and run ids are collected, then sorted and cut server-side.
COUNTED = (
    _CLOSURE + "OPTIONAL MATCH (m)-[:PART_OF]->(r:Run) WHERE m:Task "
    "WITH count(DISTINCT m) AS reached, "
    "collect(DISTINCT CASE WHEN m:Artifact AND m.type = $model THEN m.id END) AS model_ids, "
    "collect(DISTINCT r.id) AS run_ids "
    "CALL (model_ids) { UNWIND model_ids AS id WITH id "
    "WHERE $after_model IS NULL OR id > $after_model "
    "WITH id ORDER BY id LIMIT $want RETURN collect(id) AS models } "
    "CALL (run_ids) { UNWIND run_ids AS id WITH id "
    "WHERE $after_run IS NULL OR id > $after_run "
    "WITH id ORDER BY id LIMIT $want RETURN collect(id) AS runs } "
    "RETURN reached, size(model_ids) AS total_models, models, size(run_ids) AS total_runs, runs"
)

# No rows when a start is a task or unknown: the caller walks instead.
_INDEXED_CLOSURE = (
    "MATCH (s:Node) WHERE s.id IN $starts WITH collect(s) AS ss "
    "WHERE size(ss) > 0 AND none(x IN ss WHERE x:Task) "
    f"CALL (ss) {{ UNWIND ss AS s MATCH (s)-[:{hops.FEEDS_MODEL}*0..]->(m:Node) "
    "RETURN DISTINCT m } "
    "WITH ss, collect(m) AS closure "
    "CALL (ss, closure) { UNWIND closure AS m WITH m WHERE m:Model AND NOT m IN ss "
    "RETURN collect(m.id) AS model_ids } "
    f"CALL (closure) {{ UNWIND closure AS y MATCH (y)-[:{hops.FEEDS_RUN}]->(r:Node) "
    "RETURN collect(DISTINCT r.id) AS run_ids } "
)
INDEXED_REACH = _INDEXED_CLOSURE + "RETURN model_ids, run_ids"
INDEXED_PAGE = (
    _INDEXED_CLOSURE + "CALL (model_ids) { UNWIND model_ids AS id WITH id "
    "WHERE $after_model IS NULL OR id > $after_model "
    "WITH id ORDER BY id LIMIT $want RETURN collect(id) AS models } "
    "CALL (run_ids) { UNWIND run_ids AS id WITH id "
    "WHERE $after_run IS NULL OR id > $after_run "
    "WITH id ORDER BY id LIMIT $want RETURN collect(id) AS runs } "
    "RETURN size(model_ids) AS total_models, models, size(run_ids) AS total_runs, runs"
)

# ``any(...)`` rather than ``s.id IN $starts``: an index seek on the start would make
# the planner expand every path out of the start (a hub: the whole store, per
# candidate); this way it walks up from the candidate and stops at the first hit.
_MODEL_HIT = (
    f"EXISTS {{ MATCH (c)<-[:{FLOW}*1..]-(s:Node) WHERE any(x IN $starts WHERE x = s.id) }} "
    "AND NOT c.id IN $starts"
)
_RUN_HIT = (
    f"EXISTS {{ MATCH (c)<-[:PART_OF]-(t:Task)<-[:{FLOW}*1..]-(s:Node) "
    "WHERE any(x IN $starts WHERE x = s.id) AND NOT t.id IN $starts }"
)


def _candidates(name: str, label: str, test: str, extra: str, order: str, after: str) -> str:
    """Up to $scan candidates after the cursor in id order, and the first $want reached.

    ``order`` sorts as the index does (type first for the composite index, whose type
    is fixed by the equality), so the planner reads the index in order and stops early.
    """
    return (
        f"CALL () {{ MATCH (c:{label}) WHERE c.id > ${after}{extra} "
        f"WITH c ORDER BY {order} LIMIT $scan RETURN collect(c) AS cands }} "
        f"CALL (cands) {{ UNWIND cands AS c WITH c WHERE {test} WITH c LIMIT $want "
        f"RETURN collect({rows.node_text('c')}) AS hits }} "
        f"WITH size(cands) AS {name}_scanned, hits AS {name}_hits "
    )


# Both pages in one round trip.
UNCOUNTED = (
    _candidates(
        "model", "Artifact", _MODEL_HIT, " AND c.type = $model", "c.type, c.id", "after_model"
    )
    + "CALL () { "
    + _candidates("run", "Run", _RUN_HIT, "", "c.id", "after_run")
    + "RETURN run_scanned, run_hits } "
    "RETURN model_scanned, model_hits, run_scanned, run_hits"
)


def counted_page(
    graph: Graph,
    starts: Sequence[str],
    after_model: str | None,
    after_run: str | None,
    first: int,
    budget: int,
) -> ReachPage:
    records = graph.run(
        COUNTED,
        "counting and paging impact",
        starts=list(starts),
        cap=budget + 1,
        model=MODEL_TYPE,
        after_model=after_model,
        after_run=after_run,
        want=first + 1,
    )
    if not records:
        return ReachPage((), (), False, False, 0, 0, False)
    row = records[0]
    models, runs = list(row["models"]), list(row["runs"])
    return ReachPage(
        models=tuple(models[:first]),
        runs=tuple(runs[:first]),
        more_models=len(models) > first,
        more_runs=len(runs) > first,
        total_models=int(row["total_models"]),
        total_runs=int(row["total_runs"]),
        truncated=int(row["reached"]) + len(starts) > budget,
    )


def indexed_page(
    graph: Graph,
    starts: Sequence[str],
    after_model: str | None,
    after_run: str | None,
    first: int,
) -> ReachPage | None:
    """The counted page from the reach index; None when it cannot answer (a start is a
    task, or none is known)."""
    records = graph.run(
        INDEXED_PAGE,
        "counting and paging impact over the reach index",
        starts=list(starts),
        after_model=after_model,
        after_run=after_run,
        want=first + 1,
    )
    if not records:
        return None
    row = records[0]
    models, runs = list(row["models"]), list(row["runs"])
    return ReachPage(
        models=tuple(models[:first]),
        runs=tuple(runs[:first]),
        more_models=len(models) > first,
        more_runs=len(runs) > first,
        total_models=int(row["total_models"]),
        total_runs=int(row["total_runs"]),
    )


def indexed_reach(graph: Graph, starts: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """Every model and run downstream, sorted, from the reach index; None as above."""
    records = graph.run(INDEXED_REACH, "walking the reach index for impact", starts=list(starts))
    if not records:
        return None
    return sorted(records[0]["model_ids"]), sorted(records[0]["run_ids"])


def _cut(
    texts: list[str], scanned: int, scan: int, first: int, found: dict[str, LineageNode]
) -> tuple[list[str], bool] | None:
    """The page and whether more follow, its nodes added to ``found``; None when the scan
    ran out before the page filled, or a row did not parse."""
    if len(texts) <= first and scanned >= scan:
        return None  # sparse: the candidates ran out of budget, not out of rows
    ids: list[str] = []
    for text in texts[:first]:
        node = rows.parse_node(text)
        if node is None:
            return None
        found[node.id] = node
        ids.append(node.id)
    return ids, len(texts) > first


def uncounted_page(
    graph: Graph,
    starts: Sequence[str],
    after_model: str | None,
    after_run: str | None,
    first: int,
) -> ReachPage | None:
    if first == 0:
        return None
    want = first + 1
    scan = SCAN_FACTOR * want + SCAN_EXTRA
    records = graph.run(
        UNCOUNTED,
        "paging impact",
        starts=list(starts),
        after_model=after_model or "",
        after_run=after_run or "",
        model=MODEL_TYPE,
        scan=scan,
        want=want,
    )
    if not records:
        return None
    row = records[0]
    found: dict[str, LineageNode] = {}
    models = _cut(list(row["model_hits"]), int(row["model_scanned"]), scan, first, found)
    runs = _cut(list(row["run_hits"]), int(row["run_scanned"]), scan, first, found)
    if models is None or runs is None:
        return None
    return ReachPage(tuple(models[0]), tuple(runs[0]), models[1], runs[1], nodes=found)
