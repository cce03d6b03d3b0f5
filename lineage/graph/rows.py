"""Compact rows: nodes and edges sent over Bolt as one string each.

The driver decodes every Bolt value in Python, so a node sent as a map of eight
properties costs seventeen decoded values; a walk of 10,000 nodes spent most of
its time there. Joined server-side into one string (fields split by the ASCII
unit separator), a node costs one; the sync stores that string with the node
(``row``), so Neo4j reads one property instead of building it from eight.
Nullable fields carry a one-character prefix (``=`` for a value, nothing for
null) so that null and the empty string stay apart. A field that itself holds
the separator makes the row split into the wrong number of parts: the parser
then returns None and the caller reads that node the slow, exact way.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from lineage.graph.connect import Graph
from lineage.model import EdgeKind, LineageEdge, LineageNode, NodeKind

SEP = "\x1f"
VERSION = 1  # of the stored ``row``; the sync backfills a projection holding another
STATE_FIELD = "rows"  # the SyncState property holding the VERSION the projection carries
_CY_SEP = "'\\u001F'"
_NODE_FIELDS = 8
_PREFIXED_KINDS = {"=" + k.value: k for k in NodeKind}
_new = object.__new__
# The slot setters of LineageNode's fields, by name; a field added there fails here.
_SETTERS = {f.name: LineageNode.__dict__[f.name].__set__ for f in dataclasses.fields(LineageNode)}
_id, _kind, _name, _type, _properties, _uri, _state, _created, _known = (
    _SETTERS.pop(name)
    for name in (
        "id",
        "kind",
        "name",
        "type",
        "properties",
        "uri",
        "state",
        "created_ms",
        "state_known_as_of",
    )
)
assert not _SETTERS, f"LineageNode fields not set by parse_node: {sorted(_SETTERS)}"
EDGE_KINDS = {k.value: k for k in EdgeKind}


def _opt(expr: str) -> str:
    return f"coalesce('=' + {expr}, '')"


def node_text(var: str) -> str:
    """A Cypher expression giving node ``var`` as one string (see ``parse_node``): the
    string the sync stored with it (``row``). A projection synced before rows were stored
    gives '', which does not parse, so readers take their exact path until the next sync
    stores them. (``coalesce(row, <the string built>)`` would cost as much as building
    it: Neo4j reads every property an expression names before evaluating it.)"""
    return f"coalesce({var}.row, '')"


def built_text(var: str) -> str:
    """The ``row`` of node ``var`` built from its properties, in Cypher (see ``row_text``)."""
    parts = [
        f"{var}.id",
        _opt(f"{var}.kind"),
        _opt(f"{var}.name"),
        _opt(f"{var}.type"),
        f"coalesce({var}.props, '')",
        _opt(f"{var}.uri"),
        _opt(f"{var}.state"),
        f"coalesce(toString({var}.created_ms), '')",
    ]
    return f" + {_CY_SEP} + ".join(parts)


def row_text(props: Mapping[str, Any]) -> str:
    """The ``node_text`` string of a node from the properties the sync writes for it
    (``row_rules.to_row``). Stored with the node as ``row``, it makes reading a node one
    property read instead of eight: a 10,000-node level came back in about half the time."""

    def opt(value: Any) -> str:
        return "" if value is None else "=" + str(value)

    created = props.get("created_ms")
    return SEP.join(
        [
            str(props["id"]),
            opt(props.get("kind")),
            opt(props.get("name")),
            opt(props.get("type")),
            str(props.get("props") or ""),
            opt(props.get("uri")),
            opt(props.get("state")),
            "" if created is None else str(int(created)),
        ]
    )


def stale(graph: Graph, limit: int = 20) -> list[str]:
    """Nodes (up to ``limit``) whose stored row is missing or says other than their
    properties: readers would answer from it. Reads every node once."""
    records = graph.run(
        f"MATCH (n:Node) WHERE n.row IS NULL OR n.row <> {built_text('n')} "
        "WITH n.id AS id ORDER BY id LIMIT $limit RETURN collect(id) AS ids",
        "checking stored rows",
        limit=limit,
    )
    return list(records[0]["ids"]) if records else []


def backfill(graph: Graph, page: int = 10_000) -> int:
    """Store ``row`` on every node of a projection synced before rows were stored, a page
    of nodes per transaction in id order; returns how many nodes it wrote."""
    written, after = 0, ""
    while True:
        records = graph.run(
            "MATCH (n:Node) WHERE n.id > $after WITH n ORDER BY n.id LIMIT $page "
            f"SET n.row = {built_text('n')} RETURN count(n) AS n, max(n.id) AS last",
            "storing node rows",
            after=after,
            page=page,
        )
        count = int(records[0]["n"]) if records else 0
        if count == 0:
            return written
        written += count
        after = records[0]["last"]


def edge_text(source: str, target: str, rel: str) -> str:
    """A Cypher expression giving an edge as one string (see ``parse_edge``)."""
    parts = [f"{source}.id", f"{target}.id", f"type({rel})", _opt(f"{rel}.key")]
    return f" + {_CY_SEP} + ".join(parts)


def link_text(rel: str) -> str:
    """An edge's kind and key as one string, for edges whose two ends the reader knows."""
    return f"type({rel}) + {_CY_SEP} + {_opt(f'{rel}.key')}"


def parse_link(text: str) -> tuple[EdgeKind, str | None] | None:
    """The kind and key a ``link_text`` string encodes; None when it does not split cleanly."""
    fields = text.split(SEP)
    kind = EDGE_KINDS.get(fields[0]) if len(fields) == 2 else None
    return None if kind is None else (kind, _val(fields[1]))


def _val(field: str) -> str | None:
    return field[1:] if field else None


def _props(text: str) -> Any:
    # orjson reads a 10,000-node level's properties in a fifth of json's time; it
    # refuses NaN and Infinity, which json writes for a float metric, so json reads those.
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def parse_node(text: str) -> LineageNode | None:
    """The node a ``node_text`` string encodes; None when it does not split cleanly.

    Written for speed (a 10,000-node level parses 10,000 of these): kinds looked up with
    their ``=`` prefix, and the frozen node's slots set through their descriptors, which
    costs a third less than its ``__init__`` (``object.__setattr__`` by name, per field)."""
    fields = text.split(SEP)
    if len(fields) != _NODE_FIELDS:
        return None
    node_id, kind, name, type_, props, uri, state, created = fields
    found = _PREFIXED_KINDS.get(kind)
    if found is None or not name or not type_ or (created and not created.isdigit()):
        return None
    node = _new(LineageNode)
    _id(node, node_id)
    _kind(node, found)
    _name(node, name[1:])
    _type(node, type_[1:])
    _properties(node, _props(props) if props else {})
    _uri(node, uri[1:] if uri else None)
    _state(node, state[1:] if state else None)
    _created(node, int(created) if created else 0)
    _known(node, True)  # as of now; as-of answers are set by lineage.query.asof
    return node


def parse_nodes(texts: Iterable[str]) -> dict[str, LineageNode] | None:
    """The nodes of a list of ``node_text`` strings by id; None when one does not parse
    (the caller then reads them the exact way)."""
    nodes: dict[str, LineageNode] = {}
    for text in texts:
        node = parse_node(text)
        if node is None:
            return None
        nodes[node.id] = node
    return nodes


def parse_edges(texts: Iterable[str]) -> list[LineageEdge] | None:
    """The edges of a list of ``edge_text`` strings; None when one does not parse."""
    edges: list[LineageEdge] = []
    for text in texts:
        edge = parse_edge(text)
        if edge is None:
            return None
        edges.append(edge)
    return edges


def parse_edge(text: str) -> LineageEdge | None:
    """The edge an ``edge_text`` string encodes; None when it does not split cleanly."""
    fields = text.split(SEP)
    if len(fields) != 4:
        return None
    kind = EDGE_KINDS.get(fields[2])
    if kind is None:
        return None
    return LineageEdge(fields[0], fields[1], kind, _val(fields[3]))
