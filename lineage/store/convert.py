"""Mapping between plain records and MLMD protos.

ML Metadata is imported under lineage/store alone (the adapter, the bulk row reads and
the row rules), apart from the ingest sources that read an MLMD store of KFP's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.model import (
    Artifact,
    ArtifactState,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    Properties,
    PropertyValue,
)

HISTORY = "state_history"  # lineage.store.history keeps a node's states here


def to_value(value: PropertyValue, out: Any) -> None:
    """Fill an MLMD ``Value`` from a Python value. bool is tested first: it is an int."""
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    else:
        struct = struct_pb2.Struct()
        struct.update(value)
        out.struct_value.CopyFrom(struct)


def from_value(value: Any) -> PropertyValue:
    which = value.WhichOneof("value")
    if which == "struct_value":
        result: dict[str, Any] = json_format.MessageToDict(value.struct_value)
        return result
    if which == "proto_value":
        return {"@type": value.proto_value.type_url, "value": value.proto_value.value.hex()}
    if which is None:
        return ""
    converted: PropertyValue = getattr(value, which)
    return converted


def fill_properties(target: Any, properties: Properties) -> None:
    for key, value in properties.items():
        to_value(value, target[key])


def read_properties(node: Any) -> dict[str, PropertyValue]:
    # KFP writes everything as custom properties; typed properties (other MLMD
    # users, e.g. TFX) are folded in so nothing a source stored is dropped.
    props = {key: from_value(v) for key, v in node.properties.items()}
    props.update({key: from_value(v) for key, v in node.custom_properties.items()})
    return props


def record_properties(node: Any) -> dict[str, PropertyValue]:
    """A stored node's properties as a record holds them: without the state history the
    store keeps for itself (lineage.store.history), which readers get from the row."""
    props = read_properties(node)
    props.pop(HISTORY, None)
    return props


def context_to_proto(ctx: Context, type_id: int) -> pb.Context:
    proto = pb.Context(type_id=type_id, name=ctx.name, external_id=ctx.id)
    fill_properties(proto.custom_properties, ctx.properties)
    return proto


def execution_to_proto(ex: Execution, type_id: int) -> pb.Execution:
    proto = pb.Execution(
        type_id=type_id,
        external_id=ex.id,
        last_known_state=pb.Execution.State.Value(ex.state.value),
    )
    if ex.name is not None:
        proto.name = ex.name
    fill_properties(proto.custom_properties, ex.properties)
    return proto


def artifact_to_proto(art: Artifact, type_id: int) -> pb.Artifact:
    proto = pb.Artifact(
        type_id=type_id,
        external_id=art.id,
        uri=art.uri,
        state=pb.Artifact.State.Value(art.state.value),
    )
    if art.name is not None:
        proto.name = art.name
    fill_properties(proto.custom_properties, art.properties)
    return proto


def event_to_proto(event: Event) -> pb.Event:
    proto = pb.Event(type=pb.Event.Type.Value(event.type.value))
    for step in event.path:
        if isinstance(step, int):
            proto.path.steps.add().index = step
        else:
            proto.path.steps.add().key = step
    return proto


def node_id(proto: Any, kind: str) -> str:
    """Our id for a stored node: its external_id, or a stable stand-in for
    nodes written by other MLMD users that set none."""
    return str(proto.external_id) if proto.external_id else f"mlmd:{kind}/{proto.id}"


def context_from_proto(proto: pb.Context, type_name: str, parents: tuple[str, ...]) -> Context:
    return Context(
        id=node_id(proto, "context"),
        type=type_name,
        name=proto.name,
        properties=record_properties(proto),
        parents=parents,
    )


def execution_from_proto(proto: pb.Execution, type_name: str) -> Execution:
    return Execution(
        id=node_id(proto, "execution"),
        type=type_name,
        name=proto.name if proto.HasField("name") else None,
        state=ExecutionState(pb.Execution.State.Name(proto.last_known_state)),
        properties=record_properties(proto),
    )


def artifact_from_proto(proto: pb.Artifact, type_name: str) -> Artifact:
    return Artifact(
        id=node_id(proto, "artifact"),
        type=type_name,
        uri=proto.uri,
        name=proto.name if proto.HasField("name") else None,
        state=ArtifactState(pb.Artifact.State.Name(proto.state)),
        properties=record_properties(proto),
    )


def event_from_proto(
    proto: pb.Event, executions: Mapping[int, str], artifacts: Mapping[int, str]
) -> Event:
    path: list[str | int] = []
    for step in proto.path.steps:
        path.append(step.key if step.HasField("key") else step.index)
    return Event(
        execution=executions[proto.execution_id],
        artifact=artifacts[proto.artifact_id],
        type=EventType(pb.Event.Type.Name(proto.type)),
        path=tuple(path),
    )


def same_node(stored: Any, desired: Any) -> bool:
    """True when writing ``desired`` over ``stored`` would change nothing we own.

    MLMD bumps last_update_time on every update, even a no-op one, so the
    adapter skips unchanged nodes to keep a repeated ingest a true no-op.
    """
    probe = type(stored)()
    probe.CopyFrom(stored)
    for name in ("create_time_since_epoch", "last_update_time_since_epoch", "type"):
        probe.ClearField(name)
    return bool(probe == desired)
