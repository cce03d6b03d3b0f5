"""The CSV files of an offline full sync, in the form ``neo4j-admin database import`` reads.

One file per label set of nodes and one per relationship type, each with its header
line. Every string is quoted (``"`` doubled inside), so an empty string stays an empty
string; a missing value is an empty unquoted field, which the importer leaves unset, as
a ``SET n = r`` of a null does. Nodes carry the same properties as an online sync writes
(``row_rules.to_row`` and the stored ``row``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from lineage.graph import reach_index
from lineage.graph import rows as texts
from lineage.model import LineageNode, NodeKind
from lineage.store import row_rules

_NODE_LONG = frozenset({"created_ms"})
_STATE_LONG = frozenset({"watermark_ms", "index", texts.STATE_FIELD})
_EDGE_HEADER = ":START_ID,:END_ID,key,ls,lt"


def _cell(value: Any) -> str:
    if value.__class__ is str:  # the common case first: a sync writes millions
        return '"' + value.replace('"', '""') + '"'
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"no CSV form for {value!r}")
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace('"', '""') + '"'


def _labels(node: LineageNode) -> str:
    # The label set of an online sync (lineage.graph.bulk): models are :Model as well.
    model = node.kind is NodeKind.ARTIFACT and node.type == reach_index.MODEL_TYPE
    return f"Node:{node.kind.value}" + (":Model" if model else "")


class CsvFiles:
    """Files being written under ``folder``, one per label set or relationship type."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._nodes: dict[str, tuple[IO[str], list[str]]] = {}
        self._edges: dict[str, IO[str]] = {}
        self._state: Path | None = None
        self.multiline = False  # a value holds a line break: the importer must be told

    def _line(self, values: Iterable[Any]) -> str:
        line = ",".join(map(_cell, values))
        if "\n" in line or "\r" in line:
            self.multiline = True
        return line + "\n"

    def _header(self, keys: list[str]) -> str:
        def column(key: str) -> str:
            if key == "id":
                return "id:ID"
            return f"{key}:long" if key in _NODE_LONG else key

        return ",".join(column(k) for k in keys) + "\n"

    def node(self, node: LineageNode) -> None:
        props = row_rules.to_row(node)
        props["row"] = texts.row_text(props)  # the node as readers fetch it (graph.rows)
        labels = _labels(node)
        opened = self._nodes.get(labels)
        if opened is None:
            name = "nodes-" + labels.replace(":", "-") + ".csv"
            created: IO[str] = (self.folder / name).open("w", encoding="utf-8", newline="")
            created.write(self._header(list(props)))
            opened = self._nodes[labels] = (created, list(props))
        out, keys = opened
        out.write(self._line(props.get(k) for k in keys))

    def edge(
        self, kind: str, source: str, target: str, key: str | None, ls: str | None, lt: str | None
    ) -> None:
        out: IO[str] | None = self._edges.get(kind)
        if out is None:
            out = (self.folder / f"edges-{kind}.csv").open("w", encoding="utf-8", newline="")
            out.write(_EDGE_HEADER + "\n")
            self._edges[kind] = out
        out.write(self._line((source, target, key, ls, lt)))

    def state(self, props: dict[str, Any]) -> None:
        """The SyncState node (outside the :Node id space: it has no :ID column)."""
        self._state = self.folder / "nodes-SyncState.csv"
        keys = list(props)
        header = ",".join(f"{k}:long" if k in _STATE_LONG else k for k in keys)
        self._state.write_text(f"{header}\n{self._line(props[k] for k in keys)}", encoding="utf-8")

    def close(self) -> None:
        for out, _ in self._nodes.values():
            out.close()
        for edge_out in self._edges.values():
            edge_out.close()

    def arguments(self) -> list[str]:
        """The importer's ``--nodes``/``--relationships`` arguments for these files."""
        args = [f"--nodes={labels}={out.name}" for labels, (out, _) in self._nodes.items()]
        if self._state is not None:
            args.append(f"--nodes=SyncState={self._state}")
        args += [f"--relationships={kind}={out.name}" for kind, out in self._edges.items()]
        if self.multiline:
            args.append("--multiline-fields=true")
        return args
