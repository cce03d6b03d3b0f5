"""The kinds of the lineage vocabulary: node and edge kinds, MLMD type names, states.

Plain enums and the maps between them; the bottom of the import graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


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
    REBUILD = "Rebuild"  # a rebuild of a model version in another environment, and its verdict


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
    REBUILT_FROM = "REBUILT_FROM"  # original artifact -> its rebuilt copy (as CACHED_FROM)


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
    REBUILD = "lineage.Rebuild"  # execution: a rebuild's verdict on the artifacts it compared


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
