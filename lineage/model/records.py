"""The plain records every source produces and the store alone maps to MLMD.

Records are frozen: a source builds them once, the store adapter reads them.
Identity is the ``id`` field (lineage.model.ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from lineage.errors import BadInputError
from lineage.model.ids import canonical_json
from lineage.model.kinds import ArtifactState, EventType, ExecutionState, KfpType

# A property value as MLMD can hold it: int, double, string, bool, or a
# struct (a JSON object). Lists are kept inside structs, as KFP does.
PropertyValue: TypeAlias = str | int | float | bool | dict[str, Any]
Properties: TypeAlias = Mapping[str, PropertyValue]


# --- records ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """An MLMD context: a pipeline, a run, a pipeline version."""

    id: str
    type: str
    name: str
    properties: Properties = field(default_factory=dict)
    parents: tuple[str, ...] = ()  # ids of parent contexts (a run's pipeline, its version)


@dataclass(frozen=True, slots=True)
class Execution:
    """An MLMD execution: a KFP task (container, importer or DAG).

    MLMD keeps ``name`` unique per type across the whole store, so set it only
    when it is unique (KFP puts the task name in the ``display_name`` property).
    """

    id: str
    type: str
    name: str | None = None
    state: ExecutionState = ExecutionState.UNKNOWN
    properties: Properties = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Artifact:
    """An MLMD artifact. As for executions, ``name`` must be unique per type, so
    KFP leaves it empty and keeps the output key in ``display_name``."""

    id: str
    type: str
    uri: str = ""
    name: str | None = None
    state: ArtifactState = ArtifactState.LIVE
    properties: Properties = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """Links an execution and an artifact. ``path`` is MLMD's event path: keys and indexes."""

    execution: str
    artifact: str
    type: EventType
    path: tuple[str | int, ...] = ()

    @property
    def key(self) -> str | None:
        """The input or output name (KFP writes a one-step path ``{key: name}``)."""
        return next((step for step in self.path if isinstance(step, str)), None)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One unit of writing: a run's contexts, executions, artifacts and events.

    It is written in one transaction. Every execution and artifact is
    attributed to every context listed here, as KFP attributes its nodes to
    both the pipeline and the run context; so a record names one run context.
    An event may only link nodes that are in the same record.
    """

    contexts: tuple[Context, ...] = ()
    executions: tuple[Execution, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    events: tuple[Event, ...] = ()

    @property
    def label(self) -> str:
        """A name for messages: the first context, else the first node."""
        runs = [c.id for c in self.contexts if c.type == KfpType.PIPELINE_RUN]
        nodes: tuple[Context | Execution | Artifact, ...] = (
            *self.contexts,
            *self.executions,
            *self.artifacts,
        )
        return runs[0] if runs else nodes[0].id if nodes else "<empty record>"

    def validate(self) -> None:
        """Raise BadInputError naming the first record that cannot be stored."""
        for kind, ids in (
            ("context", [c.id for c in self.contexts]),
            ("execution", [e.id for e in self.executions]),
            ("artifact", [a.id for a in self.artifacts]),
        ):
            seen: set[str] = set()
            for node_id in ids:
                if not node_id:
                    raise BadInputError(f"{self.label}: a {kind} has an empty id")
                if node_id in seen:
                    raise BadInputError(f"{self.label}: {kind} {node_id!r} appears twice")
                seen.add(node_id)
        runs = [c.id for c in self.contexts if c.type == KfpType.PIPELINE_RUN]
        if len(runs) > 1:
            raise BadInputError(f"{self.label}: one record holds one run context, got {runs}")
        executions = {e.id for e in self.executions}
        artifacts = {a.id for a in self.artifacts}
        for event in self.events:
            if event.execution not in executions:
                raise BadInputError(
                    f"{self.label}: event {event.type} {event.path} names execution "
                    f"{event.execution!r}, which is not in the record"
                )
            if event.artifact not in artifacts:
                raise BadInputError(
                    f"{self.label}: event {event.type} {event.path} of {event.execution!r} names "
                    f"artifact {event.artifact!r}, which is not in the record"
                )
        nodes: tuple[Context | Execution | Artifact, ...] = (
            *self.contexts,
            *self.executions,
            *self.artifacts,
        )
        for node in nodes:
            check_properties(node.id, node.properties)


def check_properties(owner: str, properties: Properties) -> None:
    for key, value in properties.items():
        if isinstance(value, bool | int | float | str):
            continue
        if isinstance(value, dict):
            try:
                canonical_json(value)
            except (TypeError, ValueError) as exc:
                raise BadInputError(f"{owner}: property {key!r} is not JSON: {exc}") from exc
            continue
        raise BadInputError(
            f"{owner}: property {key!r} has type {type(value).__name__}; "
            "MLMD holds int, float, str, bool or a JSON object"
        )


def merge_records(records: Iterable[RunRecord]) -> RunRecord:
    """Concatenate records (for sources that build one run in parts)."""
    contexts: dict[str, Context] = {}
    executions: dict[str, Execution] = {}
    artifacts: dict[str, Artifact] = {}
    events: dict[Event, None] = {}
    for record in records:
        contexts.update((c.id, c) for c in record.contexts)
        executions.update((e.id, e) for e in record.executions)
        artifacts.update((a.id, a) for a in record.artifacts)
        events.update((e, None) for e in record.events)
    return RunRecord(
        tuple(contexts.values()),
        tuple(executions.values()),
        tuple(artifacts.values()),
        tuple(events),
    )


# --- conventions for the facts this product adds -----------------------------
#
# Images and snapshots are MLMD artifacts, so MLMD's own lineage traversal and
# ours see them. The event path says how the fact is known:
#
#   image used by a task:    Event(task, image, INPUT, ("image", <how>))
#       <how> is an ImageSource: the spec pinned the digest, the pod reported
#       it, or a registry resolved the tag later.
#   snapshot of an artifact: a lineage.SnapshotExecution ``snapshotting`` that
#       reads the artifact, Event(snap_exec, artifact, INPUT, ("source",)), and
#       writes the snapshot, Event(snap_exec, snapshot, OUTPUT, ("snapshot",)).
#       The projection folds it into one SNAPSHOT_OF edge, artifact -> snapshot.
#
# Unresolved images (a tag with no digest yet) are not nodes: the task keeps
# KFP's ``image`` property, and resolving later adds the node and the event.

IMAGE_EVENT_KEY = "image"
SNAPSHOT_SOURCE_KEY = "source"
SNAPSHOT_OUTPUT_KEY = "snapshot"

# A rebuild is a ``lineage.Rebuild`` execution that reads, for the i-th output it
# judged, the original on path ("original", i) and the rebuilt artifact on path
# ("rebuilt", i) (both INPUT: the rebuild made nothing, the rebuilt run did). The
# projection pairs them into one REBUILT_FROM edge, original -> rebuilt.
REBUILD_ORIGINAL_KEY = "original"
REBUILD_REBUILT_KEY = "rebuilt"


class ImageSource(StrEnum):
    PINNED = "pinned"  # the pipeline spec named the digest
    POD = "pod"  # read from status.containerStatuses[].imageID of the pod that ran
    REGISTRY = "registry"  # the tag resolved later: only as good as that moment
    SANDBOX = "sandbox"  # pulled by digest and run by the sandbox: the image that actually ran
