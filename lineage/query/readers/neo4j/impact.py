"""Impact pages answered inside Neo4j (see ``lineage.query.paging``).

Three ways, each giving exactly the page the generic walk would:
- indexed: over the reach index (``lineage.graph.reach_index``), the starts' models
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
from dataclasses import replace

from lineage.graph import reach_index, rows
from lineage.graph.connect import Graph
from lineage.graph.reach import indexed_walk
from lineage.model import LineageNode
from lineage.query.paging import ReachPage

MODEL_TYPE, FLOW = reach_index.MODEL_TYPE, reach_index.FLOW
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


# The reach index walked from the starts (see ``lineage.graph.reach``).
_INDEXED_WALK = indexed_walk(f"{reach_index.FEEDS_MODEL}|{reach_index.FEEDS_RUN}")
# Counted as the walk streams: collecting 200,000 ids would pass the transaction memory cap.
INDEXED_COUNT = (
    _INDEXED_WALK + "RETURN count(CASE WHEN x:Model THEN 1 END) AS total_models, "
    "count(CASE WHEN x:Run THEN 1 END) AS total_runs"
)
# The models alone: the walk keeps to FEEDS_MODEL (runs are as many again from a hub).
INDEXED_MODEL_COUNT = indexed_walk(reach_index.FEEDS_MODEL) + (
    "RETURN count(x) AS total_models, null AS total_runs"
)
# A page of one list, when the id-order scan of ``uncounted_page`` gives up (few hits).
INDEXED_TOP = (
    _INDEXED_WALK + "WITH x WHERE x:__LABEL__ AND ($after IS NULL OR x.id > $after) "
    "WITH x.id AS id ORDER BY id LIMIT $want RETURN collect(id) AS ids"
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

# The same scan with the existence tests over the reach index: a model's first-model
# ancestors include the hub itself, so the test ends one hop up, not a chain's length.
_MODEL_HIT_INDEXED = (
    f"EXISTS {{ MATCH (c)<-[:{reach_index.FEEDS_MODEL}*1..]-(s:Node) "
    "WHERE any(x IN $starts WHERE x = s.id) } AND NOT c.id IN $starts"
)
_RUN_HIT_INDEXED = (
    f"EXISTS {{ MATCH (c)<-[:{reach_index.FEEDS_RUN}]-(:Node)"
    f"<-[:{reach_index.FEEDS_MODEL}*0..]-(s:Node) "
    "WHERE any(x IN $starts WHERE x = s.id) }"
)
UNCOUNTED_INDEXED = (
    _candidates("model", "Model", _MODEL_HIT_INDEXED, "", "c.id", "after_model")
    + "CALL () { "
    + _candidates("run", "Run", _RUN_HIT_INDEXED, "", "c.id", "after_run")
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
    count_runs: bool = True,
) -> ReachPage | None:
    """The counted page over the reach index: the totals from one streamed walk, the page
    from the id-order scan (or, when hits are sparse there, a sorted cut of the walk).
    Without ``count_runs`` the walk keeps to the models and the run total is None.
    None when the index cannot answer (a start is a task, or none is known)."""
    records = graph.run(
        INDEXED_COUNT if count_runs else INDEXED_MODEL_COUNT,
        "counting impact over the reach index",
        starts=list(starts),
    )
    if not records:
        return None
    runs_total = records[0]["total_runs"]
    totals = int(records[0]["total_models"]), None if runs_total is None else int(runs_total)
    page = uncounted_page(graph, starts, after_model, after_run, first, indexed=True)
    if page is None:
        models = _top(graph, starts, "Model", after_model, first + 1)
        runs = _top(graph, starts, "Run", after_run, first + 1)
        page = ReachPage(
            tuple(models[:first]), tuple(runs[:first]), len(models) > first, len(runs) > first
        )
    return replace(page, total_models=totals[0], total_runs=totals[1])


def _top(
    graph: Graph, starts: Sequence[str], label: str, after: str | None, want: int
) -> list[str]:
    records = graph.run(
        INDEXED_TOP.replace("__LABEL__", label),  # a label, from this module only
        "paging impact over the reach index",
        starts=list(starts),
        after=after,
        want=want,
    )
    return list(records[0]["ids"]) if records else []


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
    indexed: bool = False,
) -> ReachPage | None:
    """The page by an id-order scan of candidates, each tested for a path from a start
    (over the reach index when ``indexed``: the caller checked the projection has it)."""
    if first == 0:
        return None
    want = first + 1
    scan = SCAN_FACTOR * want + SCAN_EXTRA
    records = graph.run(
        UNCOUNTED_INDEXED if indexed else UNCOUNTED,
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
