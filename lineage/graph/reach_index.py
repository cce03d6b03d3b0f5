"""The reach index: shortcuts that let impact count a hub's downstream in one short walk.

Impact from a dataset every run reads, or from an image every task runs, reaches
most of the store: walking the data flow from there visits every task, artifact
and log downstream (1.2M nodes for 100,000 four-task runs). Two relationship
types, derived from the data-flow edges and kept by every sync, shrink that walk
to the models alone:

- ``(x)-[:FEEDS_MODEL]->(m:Model)``: m is downstream of x along a path with no
  model strictly between them (its *first* models);
- ``(x)-[:FEEDS_RUN]->(r:Run)``: a task of run r is downstream of x along a path
  with no model strictly between them.

Every model downstream of a set of starts S is then reached from S over
FEEDS_MODEL alone (cut any data-flow path at its models: each piece is one
FEEDS_MODEL edge), and every run downstream of S is a FEEDS_RUN target of S or of
one of those models (cut a path to a task at its last model). A full transitive
closure would answer a count from a node's degree, but a chain of models (each
run fine-tuning the last) makes it quadratic; first models stay linear.

The store is insert-only, so the index grows by semi-naive propagation in the
transaction that writes the edges: each data-flow edge ``a -> b`` written gives
``a`` the shortcuts of ``b`` (or ``b`` itself, when b is a model), and every
shortcut ``x -> t`` newly made climbs on to each ``a -> x`` while x is no model,
until a round makes nothing new. Re-writing an edge re-derives the same
shortcuts (MERGE semantics), so a sync that is run again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import neo4j

from lineage.graph.connect import Graph
from lineage.model import DATA_FLOW, EdgeKind, KfpType, LineageEdge

STATE_KEY = "mlmd"  # the SyncState node the sync keeps (lineage.graph.sync)
VERSION = 1  # bump to make the next sync rebuild the projection and its index
MODEL_TYPE = KfpType.MODEL.value
FLOW = "|".join(sorted(k.value for k in DATA_FLOW))
FEEDS_MODEL, FEEDS_RUN = "FEEDS_MODEL", "FEEDS_RUN"

# Pairs (x id, target id) to link; creates the missing ones and returns them.
_LINK = (
    "UNWIND $pairs AS p MATCH (x:Node {{id: p[0]}}) MATCH (t:Node {{id: p[1]}}) "
    "WITH DISTINCT x, t WHERE NOT EXISTS {{ (x)-[:{rel}]->(t) }} "
    "CREATE (x)-[:{rel}]->(t) RETURN collect([x.id, t.id]) AS made"
)

# Round 0: what the written data-flow edges give their sources.
_SEED_MODELS = (
    "UNWIND $edges AS e MATCH (a:Node {id: e[0]}) MATCH (b:Node {id: e[1]}) "
    f"WHERE EXISTS {{ (a)-[:{FLOW}]->(b) }} WITH DISTINCT a, b "
    "CALL (a, b) { WITH a, b WHERE b:Model RETURN b AS t "
    f"UNION WITH a, b WHERE NOT b:Model MATCH (b)-[:{FEEDS_MODEL}]->(t) RETURN t }} "
    "RETURN collect(DISTINCT [a.id, t.id]) AS pairs"
)
_SEED_RUNS = (
    "UNWIND $edges AS e MATCH (a:Node {id: e[0]}) MATCH (b:Node {id: e[1]}) "
    f"WHERE EXISTS {{ (a)-[:{FLOW}]->(b) }} WITH DISTINCT a, b "
    "CALL (a, b) { WITH a, b WHERE b:Task MATCH (b)-[:PART_OF]->(t:Run) RETURN t "
    f"UNION WITH a, b WHERE NOT b:Model MATCH (b)-[:{FEEDS_RUN}]->(t) RETURN t }} "
    "RETURN collect(DISTINCT [a.id, t.id]) AS pairs"
)
# A task newly attributed to a run: whatever flows into the task now feeds the run.
_SEED_PART_OF = (
    "UNWIND $edges AS e MATCH (b:Node {id: e[0]})-[:PART_OF]->(t:Node {id: e[1]}) "
    f"WHERE b:Task AND t:Run MATCH (a:Node)-[:{FLOW}]->(b) "
    "RETURN collect(DISTINCT [a.id, t.id]) AS pairs"
)
# Round k: a shortcut x -> t made last round climbs to every a -> x, x no model.
_CLIMB = (
    "UNWIND $made AS p MATCH (x:Node {id: p[0]}) WHERE NOT x:Model "
    f"MATCH (a:Node)-[:{FLOW}]->(x) RETURN collect(DISTINCT [a.id, p[1]]) AS pairs"
)


def ready(graph: Graph) -> bool:
    """Whether the projection carries this version of the index: it was last synced
    (fully or not) by a sync that maintains it. Remembered once true."""
    if not graph.reach_index:
        records = graph.run(
            "MATCH (s:SyncState {key: $key}) RETURN s.index AS index",
            "checking the reach index",
            key=STATE_KEY,
        )
        graph.reach_index = bool(records) and records[0]["index"] == VERSION
    return graph.reach_index


def mark_models(tx: neo4j.ManagedTransaction, ids: Sequence[str]) -> None:
    """The ``Model`` label on model artifacts: the index and its readers test labels,
    which live in the node record, not properties."""
    if ids:
        tx.run("UNWIND $ids AS id MATCH (n:Node {id: id}) SET n:Model", ids=list(ids)).consume()


def _pairs(tx: neo4j.ManagedTransaction, text: str, **params: object) -> list[list[str]]:
    record = tx.run(text, params).single()
    return [list(p) for p in record["pairs"]] if record else []


def _link(tx: neo4j.ManagedTransaction, rel: str, pairs: list[list[str]]) -> list[list[str]]:
    if not pairs:
        return []
    record = tx.run(_LINK.format(rel=rel), pairs=pairs).single()
    return [list(p) for p in record["made"]] if record else []


def _propagate(tx: neo4j.ManagedTransaction, rel: str, made: list[list[str]]) -> int:
    # Ends: a round only makes shortcuts that did not exist, and there are finitely many
    # (even a cycle in the data flow, which KFP never makes, would settle).
    total = len(made)
    while made:
        made = _link(tx, rel, _pairs(tx, _CLIMB, made=made))
        total += len(made)
    return total


def update(tx: neo4j.ManagedTransaction, edges: Sequence[LineageEdge]) -> int:
    """Bring the index up to date with these written edges (in their transaction);
    returns how many shortcuts were made."""
    flow = [[e.source, e.target] for e in edges if e.kind in DATA_FLOW]
    part_of = [[e.source, e.target] for e in edges if e.kind is EdgeKind.PART_OF]
    made = 0
    if flow:
        made += _propagate(
            tx, FEEDS_MODEL, _link(tx, FEEDS_MODEL, _pairs(tx, _SEED_MODELS, edges=flow))
        )
    run_pairs = _pairs(tx, _SEED_RUNS, edges=flow) if flow else []
    if part_of:
        run_pairs += _pairs(tx, _SEED_PART_OF, edges=part_of)
    if run_pairs:
        made += _propagate(tx, FEEDS_RUN, _link(tx, FEEDS_RUN, run_pairs))
    return made
