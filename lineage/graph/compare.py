"""Every node and edge of the projection, property by property, against the store.

Counts and a sample of edges say whether Neo4j holds as many nodes and edges as
ML Metadata; they cannot see a changed property (a model's ``digest`` set to
another value, in its properties and its stored row alike). So verify reads the
store page by page (the sync's own scan and rules) and, for each page, the same
nodes and edges from Neo4j by id, and compares one canonical string per node
and per edge: every property the sync writes, the count of properties (so an
added one shows), and the labels. The expected strings come from MLMD, never
from anything kept in Neo4j, which a forger could set as well.

Neo4j builds each string server-side, so one Bolt value crosses per node (the
driver decodes values in Python; a map would cost a dozen). Index bookkeeping
(``lineage.graph.level_index``: ``ls``/``lt`` on edges, ``lvl_*_par`` and the
``LevelOut``/``LevelIn`` labels on nodes) is left out here: verify checks it apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineage.graph import reach_index
from lineage.graph import rows as texts
from lineage.graph.connect import Graph
from lineage.model import EdgeKind, LineageEdge, LineageNode, NodeKind
from lineage.store import row_rules

SEP = texts.SEP
_CY_SEP = "'\\u001F'"
# The properties the sync writes on a node (``row_rules.to_row``, and ``row``).
NODE_KEYS = (*sorted(row_rules.to_row(LineageNode("x", NodeKind.RUN, "x", "x"))), "row")
BOOK_KEYS = ["lvl_out_par", "lvl_in_par"]  # the level index's marks
BOOK_LABELS = ["LevelOut", "LevelIn"]  # the level index's marks (lineage.graph.level_index)
LABELS = sorted({"Node", "Model", *(k.value for k in NodeKind)})
EDGE_BOOK_KEYS = ["ls", "lt"]  # the level index's end keys, checked by level_index.wrong
SHOWN = 20  # ids named per kind of difference


def _opt_text(expr: str) -> str:
    return f"coalesce('=' + toString({expr}), '')"


def node_text(var: str) -> str:
    """A Cypher expression: node ``var`` as verify compares it (see ``expected_node``)."""
    parts = [_opt_text(f"{var}.{key}") for key in NODE_KEYS]
    parts.append(f"toString(size([k IN keys({var}) WHERE NOT k IN $book_keys]))")
    parts += [f"CASE WHEN {var}:{label} THEN '{label}' ELSE '' END" for label in LABELS]
    parts.append(f"toString(size([x IN labels({var}) WHERE NOT x IN $book_labels]))")
    return f" + {_CY_SEP} + ".join(parts)


def _opt(value: Any) -> str:
    return "" if value is None else "=" + str(value)


def expected_node(node: LineageNode) -> str:
    """The ``node_text`` string of the node the sync writes for this store node."""
    props = row_rules.to_row(node)
    props["row"] = texts.row_text(props)
    labels = {"Node", node.kind.value}
    if node.kind is NodeKind.ARTIFACT and node.type == reach_index.MODEL_TYPE:
        labels.add("Model")
    parts = [_opt(props.get(key)) for key in NODE_KEYS]
    parts.append(str(sum(1 for v in props.values() if v is not None)))
    parts += [label if label in labels else "" for label in LABELS]
    parts.append(str(len(labels)))
    return SEP.join(parts)


def edge_text(source: str, target: str, rel: str) -> str:
    """A Cypher expression: an edge's type, key, property count and end keys."""
    return f" + {_CY_SEP} + ".join(
        [
            f"type({rel})",
            _opt_text(f"{rel}.key"),
            f"toString(size([k IN keys({rel}) WHERE NOT k IN $book_keys]))",
            f"CASE WHEN coalesce({rel}.ls, {source}.id) = {source}.id "
            f"AND coalesce({rel}.lt, {target}.id) = {target}.id THEN '' ELSE 'ends' END",
        ]
    )


def expected_edge(edge: LineageEdge) -> str:
    return SEP.join([edge.kind.value, _opt(edge.key), "0" if edge.key is None else "1", ""])


_NODES = (
    "UNWIND $ids AS id MATCH (n:Node {id: id}) "
    f"RETURN collect(n.id) AS ids, collect({node_text('n')}) AS texts"
)


def _edges_query(kind: EdgeKind) -> str:
    # Each pair is expanded from the end with fewer edges of the type, compared by the
    # degrees Neo4j keeps: a hub (the dataset every run reads, an image every task runs)
    # would otherwise be expanded whole for each of its edges.
    t = kind.value
    return (
        "UNWIND $pairs AS p MATCH (a:Node {id: p[0]}) MATCH (b:Node {id: p[1]}) "
        f"CALL (a, b) {{ WITH a, b WHERE COUNT {{ (a)-[:{t}]->() }} <= COUNT {{ (b)<-[:{t}]-() }} "
        f"MATCH (a)-[r:{t}]->(x) WHERE x = b RETURN r "
        f"UNION WITH a, b WHERE COUNT {{ (a)-[:{t}]->() }} > COUNT {{ (b)<-[:{t}]-() }} "
        f"MATCH (y)-[r:{t}]->(b) WHERE y = a RETURN r }} "
        f"RETURN collect(a.id) AS sources, collect(b.id) AS targets, "
        f"collect({edge_text('a', 'b', 'r')}) AS texts"
    )


@dataclass
class Comparison:
    """What the property check found; ids and edges named up to ``SHOWN`` each."""

    nodes_checked: int = 0
    edges_checked: int = 0
    nodes_missing: list[str] = field(default_factory=list)
    nodes_changed: list[str] = field(default_factory=list)
    edges_missing: list[tuple[str, str, str]] = field(default_factory=list)
    edges_changed: list[tuple[str, str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # by difference, all of them

    def _note(self, what: str, bucket: list[Any], item: Any) -> None:
        self.counts[what] += 1
        if len(bucket) < SHOWN:
            bucket.append(item)

    @property
    def ok(self) -> bool:
        return not self.counts

    def check_nodes(self, graph: Graph, nodes: Sequence[LineageNode]) -> None:
        if not nodes:
            return
        records = graph.run(
            _NODES,
            "comparing node properties",
            ids=[n.id for n in nodes],
            book_keys=BOOK_KEYS,
            book_labels=BOOK_LABELS,
        )
        found = dict(zip(records[0]["ids"], records[0]["texts"], strict=True)) if records else {}
        for node in nodes:
            self.nodes_checked += 1
            text = found.get(node.id)
            if text is None:
                self._note("nodes_missing", self.nodes_missing, node.id)
            elif text != expected_node(node):
                self._note("nodes_changed", self.nodes_changed, node.id)

    def check_edges(self, graph: Graph, edges: Iterable[LineageEdge]) -> None:
        by_kind: dict[EdgeKind, list[LineageEdge]] = {}
        for edge in edges:
            by_kind.setdefault(edge.kind, []).append(edge)
        for kind, group in sorted(by_kind.items()):
            records = graph.run(
                _edges_query(kind),
                "comparing edge properties",
                pairs=[[e.source, e.target] for e in group],
                book_keys=EDGE_BOOK_KEYS,
            )
            row = records[0] if records else {"sources": [], "targets": [], "texts": []}
            found: dict[tuple[str, str], list[str]] = {}
            for s, t, text in zip(row["sources"], row["targets"], row["texts"], strict=True):
                found.setdefault((s, t), []).append(text)
            for edge in group:
                self.edges_checked += 1
                key = (edge.source, edge.target, edge.kind.value)
                seen = found.get((edge.source, edge.target), [])
                if not seen:
                    self._note("edges_missing", self.edges_missing, key)
                elif seen != [expected_edge(edge)]:  # changed, or a parallel copy
                    self._note("edges_changed", self.edges_changed, key)

    def differences(self) -> list[str]:
        out = [f"node missing in neo4j: {i}" for i in self.nodes_missing]
        out += [f"node properties differ from the store: {i}" for i in self.nodes_changed]
        out += [f"edge missing in neo4j: {s} -{k}-> {t}" for s, t, k in self.edges_missing]
        out += [f"edge properties differ: {s} -{k}-> {t}" for s, t, k in self.edges_changed]
        shown = {
            "nodes_missing": len(self.nodes_missing),
            "nodes_changed": len(self.nodes_changed),
            "edges_missing": len(self.edges_missing),
            "edges_changed": len(self.edges_changed),
        }
        out += [
            f"... and {self.counts[what] - n} more {what.replace('_', ' ')}"
            for what, n in shown.items()
            if self.counts[what] > n
        ]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes_checked": self.nodes_checked,
            "edges_checked": self.edges_checked,
            "nodes_missing": list(self.nodes_missing),
            "nodes_changed": list(self.nodes_changed),
            "edges_missing": [list(e) for e in self.edges_missing],
            "edges_changed": [list(e) for e in self.edges_changed],
            "counts": dict(sorted(self.counts.items())),
        }
