"""Writes an ML Metadata store the way KFP's v2 backend does, with the raw ml_metadata API.

The driver and launcher of KFP v2 (backend/src/v2/metadata/client.go) write:

- contexts ``system.Pipeline`` (named after the pipeline) and ``system.PipelineRun`` (named
  after the run id, with ``namespace``, ``resource_name``, ``pipeline_root`` and
  ``store_session_info``), the run a child of the pipeline;
- a root ``system.DAGExecution`` named ``run/<run id>``, with no ``parent_dag_id``;
- ``system.DAGExecution``, ``system.ContainerExecution`` and ``system.ImporterExecution``
  executions with the custom properties ``display_name``, ``task_name``, ``parent_dag_id``
  (the MLMD id of the parent DAG execution), ``inputs``/``outputs`` (parameter structs),
  ``iteration_index`` / ``iteration_count`` for loops, and on containers ``image``,
  ``namespace``, ``pod_name``, ``pod_uid``, ``cache_fingerprint``, ``cached_execution_id``;
- a branch not taken as a CANCELED execution, a cache hit as a CACHED execution whose
  OUTPUT events point at the original execution's artifacts;
- artifacts with ``display_name`` (the output key) and the component's metadata, an
  ``executor-logs`` output artifact per container, and INPUT/OUTPUT events whose path is
  the single step ``{key: <input or output name>}``.

Each execution is written as KFP does: created RUNNING with its input events, then published
with its final state, output parameters and output artifacts. Every node is attributed to
both the pipeline and the run context.

Usage::

    kfp = KfpStore.sqlite(path)
    run = kfp.run("8c0f...", pipeline="training")
    data = run.importer("importer", "gs://bucket/iris.csv")
    train = run.container("train", inputs={"lr": 0.1},
                          input_artifacts={"dataset": data.outputs["artifact"]},
                          output_artifacts={"model": "system.Model"})
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from tests.ingest.kfp_run import (
    CONTAINER,
    DAG,
    IMPORTER,
    LOGS_KEY,
    PIPELINE,
    PIPELINE_RUN,
    KfpRun,
    Task,
    set_value,
)

__all__ = [
    "CONTAINER",
    "DAG",
    "IMPORTER",
    "LOGS_KEY",
    "PIPELINE",
    "PIPELINE_RUN",
    "KfpRun",
    "KfpStore",
    "Task",
    "training_run",
]


class KfpStore:
    """An MLMD store written in KFP's conventions. Open with ``sqlite`` or ``mysql``."""

    def __init__(self, mlmd: metadata_store.MetadataStore) -> None:
        self.mlmd = mlmd
        self._types: dict[tuple[str, str], int] = {}
        self._seq = itertools.count(1)

    @classmethod
    def sqlite(cls, path: Path | str) -> KfpStore:
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        return cls(metadata_store.MetadataStore(config))

    @classmethod
    def mysql(cls, url: str) -> KfpStore:
        from lineage.store.connect import parse_mysql_url

        params = parse_mysql_url(url)
        config = pb.ConnectionConfig()
        for key in ("host", "port", "user", "password", "database"):
            setattr(config.mysql, key, params[key])
        return cls(metadata_store.MetadataStore(config))

    def type_id(self, kind: str, name: str) -> int:
        key = (kind, name)
        if key not in self._types:
            put, make = {
                "context": (self.mlmd.put_context_type, pb.ContextType),
                "execution": (self.mlmd.put_execution_type, pb.ExecutionType),
                "artifact": (self.mlmd.put_artifact_type, pb.ArtifactType),
            }[kind]
            self._types[key] = int(put(make(name=name)))
        return self._types[key]

    def _context(self, type_name: str, name: str, props: Mapping[str, Any]) -> pb.Context:
        """KFP's getOrInsertContext: reuse a context by type and name."""
        found = self.mlmd.get_context_by_type_and_name(type_name, name)
        if found is not None:
            return found
        ctx = pb.Context(type_id=self.type_id("context", type_name), name=name)
        for key, value in props.items():
            set_value(value, ctx.custom_properties[key])
        [ctx.id] = self.mlmd.put_contexts([ctx])
        return ctx

    def run(
        self,
        run_id: str,
        *,
        pipeline: str = "training-pipeline",
        namespace: str = "kubeflow",
        pipeline_root: str = "minio://mlpipeline/v2/artifacts",
        state: str = "COMPLETE",
    ) -> KfpRun:
        """A run: its contexts and its root DAG execution."""
        pipe = self._context(PIPELINE, pipeline, {})
        root_uri = f"{pipeline_root.rstrip('/')}/{pipeline}/{run_id}"
        ctx = self._context(
            PIPELINE_RUN,
            run_id,
            {
                "namespace": namespace,
                "resource_name": f"run-resource-{run_id[:8]}",
                "pipeline_root": root_uri,
                "store_session_info": '{"Provider":"minio","Params":{}}',
            },
        )
        parents = self.mlmd.get_parent_contexts_by_context(ctx.id)
        if not parents:
            self.mlmd.put_parent_contexts([pb.ParentContext(child_id=ctx.id, parent_id=pipe.id)])
        return KfpRun(self, run_id, pipe, ctx, namespace, root_uri, state)


def training_run(kfp: KfpStore, run_id: str, *, pipeline: str = "training-pipeline") -> KfpRun:
    """A small complete run: importer -> train -> evaluate, with logs."""
    run = kfp.run(run_id, pipeline=pipeline)
    data = run.importer("importer", "gs://datasets/iris.csv")
    train = run.container(
        "train",
        inputs={"learning_rate": 0.1},
        input_artifacts={"dataset": data.outputs["artifact"]},
        output_artifacts={"model": "system.Model"},
        cache_fingerprint=f"fp-train-{run_id}",
    )
    run.container(
        "evaluate",
        input_artifacts={"model": train.outputs["model"]},
        output_artifacts={"metrics": "system.Metrics"},
        metadata={"metrics": {"accuracy": 0.93}},
        outputs={"accuracy": 0.93},
    )
    return run
