"""A full sync's writes: plain creates page by page, the derived indexes once at the end.

An incremental sync keeps the reach index (``lineage.graph.reach_index``) and the level index
(``lineage.graph.level_index``) up to date in each batch's transaction, by queries that
read the graph around what it wrote. Into an emptied projection that is wasted work:
the whole store passes by, so the sync keeps the few facts the indexes need (node
kinds, data-flow edges, task references, degrees), as integers, while it writes the
pages as plain ``CREATE``s, and at the end

- creates the reference edges (CACHED_FROM, PARENT_DAG) it found among the tasks;
- computes the reach index's shortcuts in Python, by the same semi-naive rule the
  incremental sync applies in Cypher, and creates them;
- marks the dense nodes and keys their edges, a bounded number of edges at a time.

Every write here is bounded: a transaction Neo4j stops for its time or memory is
split in two and retried (``write_split``), down to a single record, which then fails
naming that record.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import neo4j

from lineage.graph import level_index, reach_index
from lineage.graph import rows as texts
from lineage.graph.connect import Graph, TooBigError
from lineage.graph.scan import Batch
from lineage.model import EdgeKind, NodeKind
from lineage.store import row_rules

R = TypeVar("R")
FLOW_KINDS = frozenset(EdgeKind(k) for k in reach_index.FLOW.split("|"))
IN_TRANSACTIONS = 10_000  # rows per transaction of the writes at the end


def write_split(
    graph: Graph,
    rows: Sequence[R],
    work: Callable[[neo4j.ManagedTransaction, Sequence[R]], Any],
    doing: str,
    name: Callable[[R], str],
) -> int:
    """Write ``rows`` in one transaction, or, when Neo4j stops it for its time or
    memory, in two halves, each split again as needed. Returns the transactions used.

    Halving finds a size that fits in a logarithmic number of tries; the rows written
    by a stopped transaction were rolled back with it, so a half never meets its own
    rows. A single row that does not fit is a real error, and names that row."""
    if not rows:
        return 0
    try:
        graph.write(lambda tx: work(tx, rows), doing)
        return 1
    except TooBigError as exc:
        if len(rows) == 1:
            raise TooBigError(f"{exc} (even alone: {name(rows[0])})") from exc
    half = len(rows) // 2
    return write_split(graph, rows[:half], work, doing, name) + write_split(
        graph, rows[half:], work, doing, name
    )


def repeat_bounded(graph: Graph, text: str, doing: str, **params: Any) -> int:
    """Run an idempotent write of at most ``$limit`` rows that returns ``count`` (how
    many it changed), one transaction at a time, until it changes nothing; returns the
    total. A transaction Neo4j stops for its time or memory is run again with half the
    limit. (``CALL { ... } IN TRANSACTIONS`` bounds the inner transactions but not the
    outer one, which may buffer every row it feeds them.)"""
    limit, total = IN_TRANSACTIONS, 0
    while True:
        try:
            records = graph.run_long(text, doing, limit=limit, **params)
        except TooBigError as exc:
            if limit == 1:
                raise TooBigError(f"{exc} (even for one row)") from exc
            limit //= 2
            continue
        count = int(records[0]["count"]) if records else 0
        if count == 0:
            return total
        total += count


# One item of a page: a node (labels, properties) or an edge (kind, {s, t, k}).
Item = tuple[str, str, dict[str, Any]]


def _node_labels(kind: NodeKind, row: dict[str, Any]) -> str:
    # Labels cannot be parameters; they come from the NodeKind enum, never from input.
    model = kind is NodeKind.ARTIFACT and row.get("type") == reach_index.MODEL_TYPE
    return f"Node:{kind.value}" + (":Model" if model else "")


def items(batch: Batch) -> list[Item]:
    """A page as items, nodes first: split anywhere, each part's edges find their ends
    written (by this part, or by one before it)."""
    out: list[Item] = []
    for node in batch.nodes:
        props = row_rules.to_row(node)
        props["row"] = texts.row_text(props)  # the node as readers fetch it (graph.rows)
        out.append(("n", _node_labels(node.kind, props), props))
    for edge in batch.edges:
        out.append(("e", edge.kind.value, {"s": edge.source, "t": edge.target, "k": edge.key}))
    return out


def create(tx: neo4j.ManagedTransaction, part: Sequence[Item]) -> None:
    """Create these nodes and edges: one statement per label set and edge kind."""
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    edges: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for what, label, row in part:
        (nodes if what == "n" else edges)[label].append(row)
    for labels, rows in nodes.items():
        tx.run(f"UNWIND $rows AS r CREATE (n:{labels}) SET n = r", rows=rows).consume()
    for kind, rows in edges.items():
        tx.run(
            "UNWIND $rows AS r MATCH (a:Node {id: r.s}) MATCH (b:Node {id: r.t}) "
            f"CREATE (a)-[:{kind} {{key: r.k}}]->(b)",
            rows=rows,
        ).consume()


def item_name(item: Item) -> str:
    what, label, row = item
    if what == "n":
        return f"node {row['id']}"
    return f"{label} edge {row['s']} -> {row['t']}"


def _create_pairs(rel: str) -> Callable[[neo4j.ManagedTransaction, Sequence[list[str]]], None]:
    def work(tx: neo4j.ManagedTransaction, pairs: Sequence[list[str]]) -> None:
        tx.run(
            "UNWIND $pairs AS p MATCH (a:Node {id: p[0]}) MATCH (b:Node {id: p[1]}) "
            f"CREATE (a)-[:{rel}]->(b)",
            pairs=list(pairs),
        ).consume()

    return work


def _pair_name(rel: str) -> Callable[[list[str]], str]:
    return lambda p: f"{rel} edge {p[0]} -> {p[1]}"


@dataclass
class Facts:
    """What the indexes need of the whole store, gathered page by page (ids as ints)."""

    ids: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    models: set[int] = field(default_factory=set)
    tasks: set[int] = field(default_factory=set)
    runs: set[int] = field(default_factory=set)
    flow_in: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    flow: list[tuple[int, int]] = field(default_factory=list)
    part_of: list[tuple[int, int]] = field(default_factory=list)
    refs: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    out_degree: Counter[int] = field(default_factory=Counter)
    in_degree: Counter[int] = field(default_factory=Counter)

    def _id(self, node_id: str) -> int:
        found = self.ids.get(node_id)
        if found is None:
            found = self.ids[node_id] = len(self.names)
            self.names.append(node_id)
        return found

    def add(self, batch: Batch) -> None:
        for node in batch.nodes:
            i = self._id(node.id)
            if node.kind is NodeKind.TASK:
                self.tasks.add(i)
                cached = row_rules.reference(node, row_rules.CACHED_FROM)
                parent = row_rules.reference(node, row_rules.PARENT_TASK)
                if cached is not None or parent is not None:
                    self.refs.append((i, cached, parent))
            elif node.kind is NodeKind.RUN:
                self.runs.add(i)
            elif node.kind is NodeKind.ARTIFACT and node.type == reach_index.MODEL_TYPE:
                self.models.add(i)
        for edge in batch.edges:
            self.edge(edge.kind, self._id(edge.source), self._id(edge.target))

    def edge(self, kind: EdgeKind, a: int, b: int) -> None:
        self.out_degree[a] += 1
        self.in_degree[b] += 1
        if kind in FLOW_KINDS:
            self.flow.append((a, b))
            self.flow_in[b].append(a)
        elif kind is EdgeKind.PART_OF:
            self.part_of.append((a, b))

    def reference_edges(self) -> list[tuple[EdgeKind, int, int]]:
        """CACHED_FROM (original -> copy) and PARENT_DAG (task -> parent) among tasks."""
        found: list[tuple[EdgeKind, int, int]] = []
        for task, cached, parent in self.refs:
            original = self.ids.get(cached) if cached is not None else None
            if original is not None and original in self.tasks:
                found.append((EdgeKind.CACHED_FROM, original, task))
            up = self.ids.get(parent) if parent is not None else None
            if up is not None and up in self.tasks:
                found.append((EdgeKind.PARENT_DAG, task, up))
        return found

    def shortcuts(self) -> dict[str, list[list[str]]]:
        """The reach index's pairs (``reach_index``): seeds from the data-flow edges, climbed
        against the flow past every node that is no model, until nothing is new."""
        models = self.models
        model_seeds = [(a, b) for a, b in self.flow if b in models]
        task_runs: dict[int, list[int]] = defaultdict(list)
        for task, run in self.part_of:
            if task in self.tasks and run in self.runs:
                task_runs[task].append(run)
        run_seeds = [(a, r) for a, b in self.flow for r in task_runs.get(b, ())]
        return {
            reach_index.FEEDS_MODEL: self._names(self._climb(model_seeds)),
            reach_index.FEEDS_RUN: self._names(self._climb(run_seeds)),
        }

    def _climb(self, seeds: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        made = set(seeds)
        todo = list(made)
        while todo:
            x, t = todo.pop()
            if x in self.models:
                continue  # a path stops at its first model
            for a in self.flow_in.get(x, ()):
                if (a, t) not in made:
                    made.add((a, t))
                    todo.append((a, t))
        return made

    def _names(self, pairs: set[tuple[int, int]]) -> list[list[str]]:
        return sorted([self.names[a], self.names[b]] for a, b in pairs)

    def dense(self, degree: Counter[int]) -> list[str]:
        return sorted(self.names[i] for i, n in degree.items() if n >= level_index.DENSE)


def finish(graph: Graph, facts: Facts) -> None:
    """After the pages: the reference edges, the reach index, the level index."""
    refs = facts.reference_edges()
    for kind, a, b in refs:
        facts.edge(kind, a, b)  # data flow (CACHED_FROM) and degree, before the closure
    ref_items: list[Item] = [
        ("e", kind.value, {"s": facts.names[a], "t": facts.names[b], "k": None})
        for kind, a, b in refs
    ]
    for start in range(0, len(ref_items), IN_TRANSACTIONS):
        part = ref_items[start : start + IN_TRANSACTIONS]
        write_split(graph, part, create, "writing task references", item_name)
    for rel, pairs in facts.shortcuts().items():
        for start in range(0, len(pairs), IN_TRANSACTIONS):
            write_split(
                graph,
                pairs[start : start + IN_TRANSACTIONS],
                _create_pairs(rel),
                "writing the reach index",
                _pair_name(rel),
            )
    level_index.mark_all(
        graph, facts.dense(facts.out_degree), facts.dense(facts.in_degree), repeat_bounded
    )
