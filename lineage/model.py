"""The plain records every source produces and the store alone maps to MLMD.

Records are frozen: a source builds them once, the store adapter reads them.
Identity is the ``id`` field, derived from the identity of the source (never
from an MLMD row id), so re-ingesting a source yields the same ids. The id is
the MLMD ``external_id`` and the Neo4j key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from lineage.errors import BadInputError

# A property value as MLMD can hold it: int, double, string, bool, or a
# struct (a JSON object). Lists are kept inside structs, as KFP does.
PropertyValue: TypeAlias = str | int | float | bool | dict[str, Any]
Properties: TypeAlias = Mapping[str, PropertyValue]


class NodeKind(StrEnum):
    """The lineage node kinds; the value is the Neo4j label."""

    PIPELINE = "Pipeline"
    PIPELINE_VERSION = "PipelineVersion"
    RUN = "Run"
    TASK = "Task"
    ARTIFACT = "Artifact"
    IMAGE = "Image"
    SNAPSHOT = "Snapshot"
    RECURRING_RUN = "RecurringRun"  # a KFP recurring run: the schedule that starts runs


class EdgeKind(StrEnum):
    """The lineage edge kinds; the value is the Neo4j relationship type.

    Direction follows the flow of data: an INPUT edge runs artifact -> task,
    an OUTPUT edge task -> artifact, so "upstream" is always "against the arrows".
    """

    INPUT = "INPUT"  # artifact -> task
    OUTPUT = "OUTPUT"  # task -> artifact
    PART_OF = "PART_OF"  # task -> run, run -> pipeline, version -> pipeline
    VERSION_OF = "VERSION_OF"  # run -> pipeline version it ran
    PARENT_DAG = "PARENT_DAG"  # task -> the DAG task it is nested in (KFP parent_dag_id)
    USES_IMAGE = "USES_IMAGE"  # image -> task (the image is an input of the task)
    SNAPSHOT_OF = "SNAPSHOT_OF"  # artifact -> snapshot of its content
    CACHED_FROM = "CACHED_FROM"  # original task -> the cached task that reused its outputs
    TRIGGERED_BY = "TRIGGERED_BY"  # run -> the recurring run that started it


class KfpType(StrEnum):
    """KFP's MLMD type names, as its v2 backend registers them."""

    PIPELINE = "system.Pipeline"
    PIPELINE_RUN = "system.PipelineRun"
    CONTAINER_EXECUTION = "system.ContainerExecution"
    DAG_EXECUTION = "system.DAGExecution"
    IMPORTER_EXECUTION = "system.ImporterExecution"
    ARTIFACT = "system.Artifact"
    DATASET = "system.Dataset"
    MODEL = "system.Model"
    METRICS = "system.Metrics"
    CLASSIFICATION_METRICS = "system.ClassificationMetrics"
    SLICED_CLASSIFICATION_METRICS = "system.SlicedClassificationMetrics"
    HTML = "system.HTML"
    MARKDOWN = "system.Markdown"


class LineageType(StrEnum):
    """Types this product adds to MLMD, for facts KFP does not record."""

    PIPELINE_VERSION = "lineage.PipelineVersion"  # context: a content-addressed pipeline spec
    IMAGE = "lineage.Image"  # artifact: a container image by digest
    SNAPSHOT = "lineage.Snapshot"  # artifact: a content-addressed data snapshot
    SNAPSHOT_EXECUTION = "lineage.SnapshotExecution"  # execution: the act of snapshotting
    STATE = "lineage.State"  # context: ingest watermarks; never a lineage node
    RECURRING_RUN = "lineage.RecurringRun"  # context: a KFP recurring run (its trigger)


CONTEXT_KINDS: Mapping[str, NodeKind] = {
    KfpType.PIPELINE: NodeKind.PIPELINE,
    KfpType.PIPELINE_RUN: NodeKind.RUN,
    LineageType.PIPELINE_VERSION: NodeKind.PIPELINE_VERSION,
    LineageType.RECURRING_RUN: NodeKind.RECURRING_RUN,
}
ARTIFACT_KINDS: Mapping[str, NodeKind] = {
    LineageType.IMAGE: NodeKind.IMAGE,
    LineageType.SNAPSHOT: NodeKind.SNAPSHOT,
}


def context_kind(type_name: str) -> NodeKind | None:
    """The node kind of a context type; None for contexts that are not lineage nodes."""
    return CONTEXT_KINDS.get(type_name)


def artifact_kind(type_name: str) -> NodeKind:
    """Any artifact type is an artifact, unknown ones included (kept by name)."""
    return ARTIFACT_KINDS.get(type_name, NodeKind.ARTIFACT)


class ExecutionState(StrEnum):
    """MLMD's Execution.State names; KFP's last_known_state uses the same words."""

    UNKNOWN = "UNKNOWN"
    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CACHED = "CACHED"
    CANCELED = "CANCELED"


class ArtifactState(StrEnum):
    UNKNOWN = "UNKNOWN"
    PENDING = "PENDING"
    LIVE = "LIVE"
    MARKED_FOR_DELETION = "MARKED_FOR_DELETION"
    DELETED = "DELETED"
    ABANDONED = "ABANDONED"
    REFERENCE = "REFERENCE"


class EventType(StrEnum):
    """MLMD's Event.Type names. KFP writes INPUT and OUTPUT."""

    UNKNOWN = "UNKNOWN"
    DECLARED_OUTPUT = "DECLARED_OUTPUT"
    DECLARED_INPUT = "DECLARED_INPUT"
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    INTERNAL_INPUT = "INTERNAL_INPUT"
    INTERNAL_OUTPUT = "INTERNAL_OUTPUT"
    PENDING_OUTPUT = "PENDING_OUTPUT"


# --- identities ------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of a value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def spec_id(spec: Mapping[str, Any]) -> str:
    """A pipeline version is its spec: the sha256 of the spec's canonical JSON."""
    return f"spec:sha256:{sha256_hex(canonical_json(spec))}"


def pipeline_id(name: str, namespace: str | None = None) -> str:
    return f"pipeline:{namespace}/{name}" if namespace else f"pipeline:{name}"


def run_id(run: str) -> str:
    return f"run:{run}"


def recurring_run_id(recurring_run: str) -> str:
    """A KFP recurring run, by the API's ``recurring_run_id``."""
    return f"recurring-run:{recurring_run}"


def task_id(run: str, path: str) -> str:
    """A task inside a run; ``path`` carries nesting and loop iterations, e.g. ``loop/train[2]``."""
    return f"task:{run}/{path}"


def artifact_id(uri: str, qualifier: str | None = None) -> str:
    """An artifact is named by its URI; KFP writes each output to its own URI.

    ``qualifier`` tells apart two artifacts a source recorded at one URI
    (an importer with ``reimport=True`` does this).
    """
    return f"artifact:{uri}#{qualifier}" if qualifier else f"artifact:{uri}"


def image_id(repository: str, digest: str) -> str:
    return f"image:{repository}@{digest}"


def snapshot_id(root_hex: str) -> str:
    return f"snapshot:sha256:{root_hex}"


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


class ImageSource(StrEnum):
    PINNED = "pinned"  # the pipeline spec named the digest
    POD = "pod"  # read from status.containerStatuses[].imageID of the pod that ran
    REGISTRY = "registry"  # the tag resolved later: only as good as that moment
    SANDBOX = "sandbox"  # pulled by digest and run by the sandbox: the image that actually ran


def snapshotting_id(artifact: str, snapshot: str) -> str:
    return f"snapshotting:{artifact}->{snapshot}"
