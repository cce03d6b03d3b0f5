"""What a local run did, as observed while kfp.local ran it: plain, frozen facts.

The observation is kept apart from the MLMD record built from it, so the same
run can be recorded again (and the record tested) without running anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lineage.model import ExecutionState

TaskKind = Literal["root", "dag", "container", "importer"]


@dataclass(frozen=True, slots=True)
class ObservedArtifact:
    key: str  # the output (or input) name
    type: str  # the schema title: system.Dataset, system.Model...
    uri: str
    metadata: Mapping[str, Any] = field(default_factory=dict)  # what the component wrote
    digest: str | None = None  # "sha256:<hex>" of the content (a Merkle root for a directory)
    digest_kind: str | None = None  # "file" or "tree"
    digest_absent: str | None = None  # why there is no digest, when there is none
    reimport: bool = False  # an importer asked for a new artifact even if the URI is known


@dataclass(frozen=True, slots=True)
class ObservedTask:
    path: str  # "" for the root DAG, "outer/train" for a nested task
    key: str  # the task key in its DAG (KFP's task_name); "" for the root
    display_name: str  # taskInfo.name
    kind: TaskKind
    parent: str | None  # path of the enclosing DAG ("" = the root); None for the root itself
    state: ExecutionState
    inputs: Mapping[str, Any] = field(default_factory=dict)  # parameter values
    outputs: Mapping[str, Any] = field(default_factory=dict)  # output parameter values
    input_artifacts: tuple[tuple[str, str], ...] = ()  # (input key, artifact uid)
    output_artifacts: tuple[tuple[str, str], ...] = ()  # (output key, artifact uid)
    image: str | None = None
    error: str | None = None
    total_tasks: int | None = None  # for DAGs: how many tasks the DAG holds
    ran_image: str | None = None  # registry/repository@digest, when a runner pulled it by digest
    runner_properties: Mapping[str, Any] = field(default_factory=dict)  # the runner's own facts


@dataclass(frozen=True, slots=True)
class LocalRun:
    """One pipeline run under kfp.local, every task it started, every artifact it touched."""

    run_id: str  # kfp.local's pipeline resource name: "<pipeline>-<timestamp>"
    job_id: str  # kfp.local's random id, what {{$.pipeline_job_id}} resolved to
    pipeline: str  # pipelineInfo.name
    spec_id: str  # the compiled spec's pipeline version id
    pipeline_root: str  # the root given to kfp.local
    run_root: str  # where this run's outputs went: <pipeline_root>/<run_id>
    arguments: Mapping[str, Any]
    state: ExecutionState
    tasks: tuple[ObservedTask, ...]  # in the order they ran; the root DAG first
    artifacts: Mapping[str, ObservedArtifact]  # by uid (the artifact's uid in this run)
    host: str = ""
    error: str | None = None
    runner: str = "kfp.local.SubprocessRunner"  # what ran the container tasks

    def task(self, path: str) -> ObservedTask:
        return next(t for t in self.tasks if t.path == path)
