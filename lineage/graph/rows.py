"""Compact rows: nodes and edges sent over Bolt as one string each.

The driver decodes every Bolt value in Python, so a node sent as a map of eight
properties costs seventeen decoded values; a walk of 10,000 nodes spent most of
its time there. Joined server-side into one string (fields split by the ASCII
unit separator), a node costs one. Nullable fields carry a one-character prefix
(``=`` for a value, nothing for null) so that null and the empty string stay
apart. A field that itself holds the separator makes the row split into the
wrong number of parts: the parser then returns None and the caller reads that
node the slow, exact way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from lineage.model import EdgeKind, NodeKind
from lineage.query.types import LineageEdge, LineageNode

SEP = "\x1f"
_CY_SEP = "'\\u001F'"
_NODE_FIELDS = 8
_KINDS = {k.value: k for k in NodeKind}
EDGE_KINDS = {k.value: k for k in EdgeKind}


def _opt(expr: str) -> str:
    return f"coalesce('=' + {expr}, '')"


def node_text(var: str) -> str:
    """A Cypher expression giving node ``var`` as one string (see ``parse_node``)."""
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
    """The node a ``node_text`` string encodes; None when it does not split cleanly."""
    fields = text.split(SEP)
    if len(fields) != _NODE_FIELDS:
        return None
    node_id, kind, name, type_, props, uri, state, created = fields
    found = _KINDS.get(kind[1:]) if kind else None
    if found is None or not name or not type_ or not (created.isdigit() or not created):
        return None
    return LineageNode(
        id=node_id,
        kind=found,
        name=name[1:],
        type=type_[1:],
        properties=_props(props) if props else {},
        uri=_val(uri),
        state=_val(state),
        created_ms=int(created) if created else 0,
    )


def parse_edge(text: str) -> LineageEdge | None:
    """The edge an ``edge_text`` string encodes; None when it does not split cleanly."""
    fields = text.split(SEP)
    if len(fields) != 4:
        return None
    kind = EDGE_KINDS.get(fields[2])
    if kind is None:
        return None
    return LineageEdge(fields[0], fields[1], kind, _val(fields[3]))
