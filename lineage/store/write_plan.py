"""What one ``put_run`` writes: which of a record's nodes changed, which a new event or
a new context touches, and the new events by the positions of their ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.model import Event, RunRecord
from lineage.store import convert, history

T = TypeVar("T")


class WritePlan:
    """Which of a record's nodes must be written, and the tally of the write."""

    def __init__(self) -> None:
        self.created = self.updated = self.unchanged = 0

    def nodes(
        self, protos: list[T], stored: Mapping[str, Any], state: Any, now: int
    ) -> tuple[list[T], list[bool]]:
        """Carry each node's state history and set the row id on an existing node; say
        which must be written."""
        for proto in protos:
            history.carry(proto, stored.get(proto.external_id), state, now)  # type: ignore[attr-defined]
        return protos, [self._must_write(p, stored.get(p.external_id)) for p in protos]  # type: ignore[attr-defined]

    def _must_write(self, desired: Any, stored: Any | None) -> bool:
        if stored is None:
            self.created += 1
            return True
        desired.id = stored.id
        if convert.same_node(stored, desired):
            self.unchanged += 1
            return False
        self.updated += 1
        return True


def touched(
    record: RunRecord,
    new_events: list[Event],
    contexts: tuple[list[Any], list[bool]],
    ex_write: list[bool],
    art_write: list[bool],
) -> tuple[list[bool], list[bool]]:
    """The write flags of executions and artifacts, given what new events and new
    contexts touch."""
    ex_index = {e.id: i for i, e in enumerate(record.executions)}
    art_index = {a.id: i for i, a in enumerate(record.artifacts)}
    for event in new_events:  # a node touched by a new event is part of the write
        ex_write[ex_index[event.execution]] = True
        art_write[art_index[event.artifact]] = True
    # A new context must be attributed every node; an existing one only new nodes.
    if any(not w for w in ex_write + art_write) and any(
        w and p.id == 0 for p, w in zip(*contexts, strict=True)
    ):
        ex_write = [True] * len(ex_write)
        art_write = [True] * len(art_write)
    return ex_write, art_write


def event_edges(
    record: RunRecord, new_events: list[Event], ex_write: list[bool], art_write: list[bool]
) -> list[tuple[int, int, pb.Event]]:
    """The new events, each by the positions of its ends among the nodes written."""
    ex_pos = _positions(ex_write)
    art_pos = _positions(art_write)
    ex_index = {e.id: i for i, e in enumerate(record.executions)}
    art_index = {a.id: i for i, a in enumerate(record.artifacts)}
    return [
        (
            ex_pos[ex_index[e.execution]],
            art_pos[art_index[e.artifact]],
            convert.event_to_proto(e),
        )
        for e in new_events
    ]


def _positions(flags: list[bool]) -> dict[int, int]:
    """Map a node's index in the record to its index among the nodes written."""
    out: dict[int, int] = {}
    for index, flag in enumerate(flags):
        if flag:
            out[index] = len(out)
    return out
