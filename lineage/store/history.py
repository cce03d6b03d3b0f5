"""The state history of a node, kept by the store as ingest writes it.

MLMD keeps one value per property and no history, so a node that was RUNNING and is now
COMPLETE would answer "as of yesterday" with today's state. The store therefore keeps,
in the node itself, the custom property ``state_history``:
``{"entries": [{"state": "RUNNING", "since": <ms>}, {"state": "COMPLETE", "since": <ms>}]}``,
one entry per change of state, stamped with the time the store recorded it.

Why a property of the node, not history nodes of their own: it is written in the same
row and the same transaction as the state it describes, so the two never disagree; it
travels to the Neo4j projection with the node's other properties; and a lineage walk
never meets it as a node. It grows by one small entry per change of state, a handful
over a node's life.

The state is an execution's ``last_known_state``, an artifact's ``state``, and a
context's ``state`` property (a run's, where its source records one). Whatever a
record says of the history, the stored history wins: the store alone appends to it.
A node stored before the history was kept has none until its state next changes; then
its history starts at that change, and nothing is claimed about the time before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.store.convert import HISTORY

Entry = tuple[str, int]  # (state, since ms)


def entries(properties: Mapping[str, Any]) -> list[Entry]:
    """The history a node's properties hold, oldest first; [] when there is none."""
    value = properties.get(HISTORY)
    if not isinstance(value, dict):
        return []
    out: list[Entry] = []
    for item in value.get("entries") or []:
        if isinstance(item, dict) and isinstance(item.get("state"), str):
            since = item.get("since")
            if isinstance(since, int | float):
                out.append((item["state"], int(since)))
    return sorted(out, key=lambda e: e[1])


def state_at(history: list[Entry], at_ms: int) -> str | None:
    """The state in effect at ``at_ms``; None when the history starts later (or is empty)."""
    found = None
    for state, since in history:
        if since > at_ms:
            break
        found = state
    return found


def _stored_entries(proto: Any) -> list[Entry]:
    if HISTORY not in proto.custom_properties:
        return []
    value = proto.custom_properties[HISTORY]
    if value.WhichOneof("value") != "struct_value":
        return []
    return entries({HISTORY: json_format.MessageToDict(value.struct_value)})


def execution_state(proto: Any) -> str | None:
    return str(pb.Execution.State.Name(proto.last_known_state))


def artifact_state(proto: Any) -> str | None:
    return str(pb.Artifact.State.Name(proto.state))


def context_state(proto: Any) -> str | None:
    if "state" not in proto.custom_properties:
        return None
    value = proto.custom_properties["state"]
    return str(value.string_value) if value.WhichOneof("value") == "string_value" else None


def carry(
    desired: Any, stored: Any | None, state_of: Callable[[Any], str | None], now_ms: int
) -> None:
    """Set ``desired``'s history: the stored one (else the one the record carries), plus
    an entry when the state differs from the last one. A stored node with no history
    starts one only when its state changes (when its old state began is not known)."""
    current = state_of(desired)
    history = _stored_entries(stored) if stored is not None else _stored_entries(desired)
    if current is not None:
        if history:
            if history[-1][0] != current:
                history.append((current, max(now_ms, history[-1][1])))
        elif stored is None or state_of(stored) != current:
            history.append((current, now_ms))
    if not history:
        if HISTORY in desired.custom_properties:
            del desired.custom_properties[HISTORY]
        return
    struct = struct_pb2.Struct()
    struct.update({"entries": [{"state": s, "since": t} for s, t in history]})
    desired.custom_properties[HISTORY].struct_value.CopyFrom(struct)
