"""The vocabulary at the bottom of the import graph: kinds, identities, records, lineage.

- ``kinds``: node and edge kinds, MLMD type names, states;
- ``ids``: node identities, derived from the source, never from an MLMD row id;
- ``records``: the plain records every source produces and the store alone maps to MLMD;
- ``lineage``: the lineage graph's nodes, edges and directions, as every reader answers.
"""

from __future__ import annotations

from lineage.model.ids import (
    artifact_id as artifact_id,
)
from lineage.model.ids import (
    canonical_json as canonical_json,
)
from lineage.model.ids import (
    image_id as image_id,
)
from lineage.model.ids import (
    pipeline_id as pipeline_id,
)
from lineage.model.ids import (
    recurring_run_id as recurring_run_id,
)
from lineage.model.ids import (
    run_id as run_id,
)
from lineage.model.ids import (
    sha256_hex as sha256_hex,
)
from lineage.model.ids import (
    snapshot_id as snapshot_id,
)
from lineage.model.ids import (
    snapshotting_id as snapshotting_id,
)
from lineage.model.ids import (
    spec_id as spec_id,
)
from lineage.model.ids import (
    task_id as task_id,
)
from lineage.model.kinds import (
    ARTIFACT_KINDS as ARTIFACT_KINDS,
)
from lineage.model.kinds import (
    CONTEXT_KINDS as CONTEXT_KINDS,
)
from lineage.model.kinds import (
    ArtifactState as ArtifactState,
)
from lineage.model.kinds import (
    EdgeKind as EdgeKind,
)
from lineage.model.kinds import (
    EventType as EventType,
)
from lineage.model.kinds import (
    ExecutionState as ExecutionState,
)
from lineage.model.kinds import (
    KfpType as KfpType,
)
from lineage.model.kinds import (
    LineageType as LineageType,
)
from lineage.model.kinds import (
    NodeKind as NodeKind,
)
from lineage.model.kinds import (
    artifact_kind as artifact_kind,
)
from lineage.model.kinds import (
    context_kind as context_kind,
)
from lineage.model.lineage import (
    ALL_EDGES as ALL_EDGES,
)
from lineage.model.lineage import (
    CACHED_FROM as CACHED_FROM,
)
from lineage.model.lineage import (
    DATA_FLOW as DATA_FLOW,
)
from lineage.model.lineage import (
    DIGEST as DIGEST,
)
from lineage.model.lineage import (
    PARENT_TASK as PARENT_TASK,
)
from lineage.model.lineage import (
    WALK_BUDGET as WALK_BUDGET,
)
from lineage.model.lineage import (
    Direction as Direction,
)
from lineage.model.lineage import (
    LineageEdge as LineageEdge,
)
from lineage.model.lineage import (
    LineageNode as LineageNode,
)
from lineage.model.records import (
    IMAGE_EVENT_KEY as IMAGE_EVENT_KEY,
)
from lineage.model.records import (
    REBUILD_ORIGINAL_KEY as REBUILD_ORIGINAL_KEY,
)
from lineage.model.records import (
    REBUILD_REBUILT_KEY as REBUILD_REBUILT_KEY,
)
from lineage.model.records import (
    SNAPSHOT_OUTPUT_KEY as SNAPSHOT_OUTPUT_KEY,
)
from lineage.model.records import (
    SNAPSHOT_SOURCE_KEY as SNAPSHOT_SOURCE_KEY,
)
from lineage.model.records import (
    Artifact as Artifact,
)
from lineage.model.records import (
    Context as Context,
)
from lineage.model.records import (
    Event as Event,
)
from lineage.model.records import (
    Execution as Execution,
)
from lineage.model.records import (
    ImageSource as ImageSource,
)
from lineage.model.records import (
    Properties as Properties,
)
from lineage.model.records import (
    PropertyValue as PropertyValue,
)
from lineage.model.records import (
    RunRecord as RunRecord,
)
from lineage.model.records import (
    check_properties as check_properties,
)
from lineage.model.records import (
    merge_records as merge_records,
)
