"""The rules that turn MLMD rows into lineage nodes and edges, shared by every reader.

They live beside the row scanner (lineage.store.rows), which applies them to each row.

The MLMD reader applies them while it walks; the Neo4j sync applies them while
it projects. Because both call these functions, the two graphs agree by
construction. The rules:

- contexts of type system.Pipeline, system.PipelineRun, lineage.PipelineVersion and
  lineage.RecurringRun are nodes; other contexts (lineage.State book-keeping) are not;
- every execution is a Task, except lineage.SnapshotExecution, which is folded
  into a SNAPSHOT_OF edge from each artifact it reads to each lineage.Snapshot it writes;
- every artifact is a node: lineage.Image an Image, lineage.Snapshot a Snapshot,
  any other type an Artifact;
- an INPUT event is an INPUT edge (artifact -> task), or USES_IMAGE when the
  artifact is an image; an OUTPUT event is an OUTPUT edge (task -> artifact),
  except into an image: images have no upstream (so a walk never reads the
  thousands of events of a popular image to find none); other event types
  (DECLARED_*, INTERNAL_*, PENDING_OUTPUT) are not lineage;
- a task is PART_OF each run context it is attributed to (not the pipeline
  context KFP also attributes it to: the run already is PART_OF the pipeline);
- a context is VERSION_OF a parent pipeline version, TRIGGERED_BY a parent recurring run
  (lineage.RecurringRun), and PART_OF any other parent;
- every lineage.Rebuild execution is a Rebuild node; its INPUT events are INPUT edges
  (it read the original and the rebuilt artifact to compare them), and each pair it
  read on paths ("original", i) and ("rebuilt", i) is folded into one REBUILT_FROM
  edge, original -> rebuilt, keyed by the rebuild's id (which rebuild asserts it);
- CACHED_FROM runs from the task named by a task's ``cached_from`` property to
  that task; PARENT_DAG from a task to the task named by its ``parent_task``.
  An edge exists only when both ends are lineage nodes of the right kind.
"""

from __future__ import annotations

import json
from typing import Any

from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.model import (
    CONTEXT_KINDS,
    IMAGE_EVENT_KEY,
    REBUILD_ORIGINAL_KEY,
    REBUILD_REBUILT_KEY,
    ArtifactState,
    EdgeKind,
    ExecutionState,
    LineageEdge,
    LineageNode,
    LineageType,
    NodeKind,
    Properties,
    artifact_kind,
)
from lineage.model import lineage as model_lineage
from lineage.store import convert

# The derived property names (lineage.model.lineage) the rules read, named here too: a
# projection that applies the rules reads them from the rules.
CACHED_FROM = model_lineage.CACHED_FROM
PARENT_TASK = model_lineage.PARENT_TASK
DIGEST = model_lineage.DIGEST

SNAPSHOTTING = LineageType.SNAPSHOT_EXECUTION.value
REBUILDING = LineageType.REBUILD.value
_INPUT, _OUTPUT = 3, 4  # MLMD Event.Type numbers


def _text(props: Properties, *keys: str) -> str | None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def context_node(proto: Any, type_name: str) -> LineageNode | None:
    kind = CONTEXT_KINDS.get(type_name)
    if kind is None:
        return None
    return LineageNode(
        id=convert.node_id(proto, "context"),
        kind=kind,
        name=proto.name,
        type=type_name,
        properties=convert.read_properties(proto),
        created_ms=int(proto.create_time_since_epoch),
    )


def execution_node(proto: Any, type_name: str) -> LineageNode | None:
    if type_name == SNAPSHOTTING:
        return None
    props = convert.read_properties(proto)
    node_id = convert.node_id(proto, "execution")
    name = (proto.name if proto.HasField("name") else None) or _text(
        props, "task_name", "display_name"
    )
    return LineageNode(
        id=node_id,
        kind=NodeKind.REBUILD if type_name == REBUILDING else NodeKind.TASK,
        name=name or node_id,
        type=type_name,
        properties=props,
        # The state alone: execution_from_proto would decode every property a second time.
        state=ExecutionState(pb.Execution.State.Name(proto.last_known_state)).value,
        created_ms=int(proto.create_time_since_epoch),
    )


def artifact_node(proto: Any, type_name: str) -> LineageNode:
    props = convert.read_properties(proto)
    node_id = convert.node_id(proto, "artifact")
    name = (proto.name if proto.HasField("name") else None) or _text(props, "display_name")
    return LineageNode(
        id=node_id,
        kind=artifact_kind(type_name),
        name=name or proto.uri or node_id,
        type=type_name,
        properties=props,
        uri=proto.uri,
        state=ArtifactState(pb.Artifact.State.Name(proto.state)).value,
        created_ms=int(proto.create_time_since_epoch),
    )


def event_key(proto: Any) -> str | None:
    """The first key step of an event path (KFP's input or output name)."""
    for step in proto.path.steps:
        if step.HasField("key"):
            return str(step.key)
    return None


def image_how(proto: Any) -> str | None:
    """For an image event ``("image", <how>)``, the how."""
    keys = [str(s.key) for s in proto.path.steps if s.HasField("key")]
    if len(keys) >= 2 and keys[0] == IMAGE_EVENT_KEY:
        return keys[1]
    return None


def event_edge(proto: Any, task: LineageNode, artifact: LineageNode) -> LineageEdge | None:
    """The edge of one event between a task and an artifact (not a snapshotting)."""
    if proto.type == _INPUT:
        if artifact.kind is NodeKind.IMAGE:
            return LineageEdge(artifact.id, task.id, EdgeKind.USES_IMAGE, image_how(proto))
        return LineageEdge(artifact.id, task.id, EdgeKind.INPUT, event_key(proto))
    if proto.type == _OUTPUT and artifact.kind is not NodeKind.IMAGE:
        return LineageEdge(task.id, artifact.id, EdgeKind.OUTPUT, event_key(proto))
    return None


def is_input(proto: Any) -> bool:
    return bool(proto.type == _INPUT)


def is_output(proto: Any) -> bool:
    return bool(proto.type == _OUTPUT)


def snapshot_edge(source: LineageNode, snapshot: LineageNode) -> LineageEdge | None:
    if snapshot.kind is not NodeKind.SNAPSHOT:
        return None  # a snapshotting writes snapshots; anything else it wrote is not lineage
    return LineageEdge(source.id, snapshot.id, EdgeKind.SNAPSHOT_OF)


def rebuild_side(proto: Any) -> tuple[str, int] | None:
    """For a rebuild's INPUT event ``(side, index)``: which side of which pair it reads."""
    if proto.type != _INPUT:
        return None
    steps = list(proto.path.steps)
    if len(steps) != 2 or not steps[0].HasField("key") or not steps[1].HasField("index"):
        return None
    side = str(steps[0].key)
    if side not in (REBUILD_ORIGINAL_KEY, REBUILD_REBUILT_KEY):
        return None
    return side, int(steps[1].index)


def rebuilt_from(original: LineageNode, rebuilt: LineageNode, rebuild: str) -> LineageEdge | None:
    """The REBUILT_FROM edge a rebuild asserts, original -> rebuilt (the way data flows,
    as CACHED_FROM); between artifacts only."""
    if original.kind is not NodeKind.ARTIFACT or rebuilt.kind is not NodeKind.ARTIFACT:
        return None
    return LineageEdge(original.id, rebuilt.id, EdgeKind.REBUILT_FROM, rebuild)


def rebuild_pairs(sides: dict[tuple[str, int], LineageNode], rebuild: str) -> list[LineageEdge]:
    """The REBUILT_FROM edges of one rebuild, from the artifacts it read by (side, index)."""
    edges = []
    for (side, index), original in sorted(sides.items(), key=lambda kv: kv[0]):
        rebuilt = sides.get((REBUILD_REBUILT_KEY, index))
        if side == REBUILD_ORIGINAL_KEY and rebuilt is not None:
            edge = rebuilt_from(original, rebuilt, rebuild)
            if edge is not None:
                edges.append(edge)
    return edges


# A run's parent context that is not where it sits: the spec it ran, the schedule that
# started it.
_CONTEXT_EDGES = {
    NodeKind.PIPELINE_VERSION: EdgeKind.VERSION_OF,
    NodeKind.RECURRING_RUN: EdgeKind.TRIGGERED_BY,
}


def context_edge(child: LineageNode, parent: LineageNode) -> LineageEdge:
    kind = _CONTEXT_EDGES.get(parent.kind, EdgeKind.PART_OF)
    return LineageEdge(child.id, parent.id, kind)


def part_of(task: LineageNode, context: LineageNode) -> LineageEdge | None:
    if task.kind is NodeKind.TASK and context.kind is NodeKind.RUN:
        return LineageEdge(task.id, context.id, EdgeKind.PART_OF)
    return None


def reference(node: LineageNode, key: str) -> str | None:
    """The task id a task names in ``cached_from`` or ``parent_task``, if any."""
    if node.kind is not NodeKind.TASK:
        return None
    value = node.properties.get(key)
    return value if isinstance(value, str) and value else None


# --- the form a node takes in Neo4j -----------------------------------------


def to_row(node: LineageNode) -> dict[str, Any]:
    """A node as flat Neo4j properties; properties travel as canonical JSON text,
    since Neo4j holds no nested maps."""
    digest = node.properties.get(DIGEST)
    return {
        "id": node.id,
        "kind": node.kind.value,
        "name": node.name,
        "type": node.type,
        "props": json.dumps(node.properties, sort_keys=True, separators=(",", ":")),
        "uri": node.uri,
        "state": node.state,
        "created_ms": node.created_ms,
        "digest": digest if isinstance(digest, str) else None,
        CACHED_FROM: reference(node, CACHED_FROM),
        PARENT_TASK: reference(node, PARENT_TASK),
    }


def from_row(row: dict[str, Any]) -> LineageNode:
    return LineageNode(
        id=row["id"],
        kind=NodeKind(row["kind"]),
        name=row["name"],
        type=row["type"],
        properties=json.loads(row["props"]) if row.get("props") else {},
        uri=row.get("uri"),
        state=row.get("state"),
        created_ms=int(row.get("created_ms") or 0),
    )
