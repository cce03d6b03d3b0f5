"""The executions of one KFP run, written as KFP's driver and launcher write them.

Use through ``KfpStore.run`` (tests/ingest/kfp_store.py, which documents the conventions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf import struct_pb2
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.store.convert import to_value

if TYPE_CHECKING:
    from tests.ingest.kfp_store import KfpStore

PIPELINE = "system.Pipeline"
PIPELINE_RUN = "system.PipelineRun"
DAG = "system.DAGExecution"
CONTAINER = "system.ContainerExecution"
IMPORTER = "system.ImporterExecution"
LOGS_KEY = "executor-logs"


@dataclass
class Task:
    """A written execution: its MLMD row id and its output artifacts by key."""

    id: int
    task_name: str
    type: str
    state: str
    outputs: dict[str, int] = field(default_factory=dict)  # output key -> artifact row id
    uris: dict[str, str] = field(default_factory=dict)  # output key -> artifact URI
    parent: Task | None = None
    iteration_index: int | None = None


# The same mapping of Python values to MLMD Values as the store's.
set_value = to_value


def struct_value(values: Mapping[str, Any]) -> pb.Value:
    out = pb.Value()
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    out.struct_value.CopyFrom(struct)
    return out


def key_event(kind: int, key: str, artifact_id: int | None = None) -> pb.Event:
    event = pb.Event(type=kind)
    if artifact_id is not None:
        event.artifact_id = artifact_id
    event.path.steps.add().key = key
    return event


class KfpRun:
    def __init__(
        self,
        kfp: KfpStore,
        run_id: str,
        pipe: pb.Context,
        ctx: pb.Context,
        namespace: str,
        root_uri: str,
        state: str,
    ) -> None:
        self.kfp = kfp
        self.run_id = run_id
        self.contexts = [pipe, ctx]
        self.context_id = ctx.id
        self.namespace = namespace
        self.root_uri = root_uri
        self.root = self._execute(
            DAG, "", None, state=state, name=f"run/{run_id}", props={"inputs": {}}
        )

    # --- the KFP conventions ------------------------------------------------

    def _execute(
        self,
        type_name: str,
        task_name: str,
        parent: Task | None,
        *,
        state: str,
        name: str | None = None,
        props: Mapping[str, Any] | None = None,
        input_artifacts: Mapping[str, int] | None = None,
        output_artifacts: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
        reuse_outputs: Mapping[str, int] | None = None,
        outputs: Mapping[str, Any] | None = None,
        iteration_index: int | None = None,
    ) -> Task:
        mlmd = self.kfp.mlmd
        # CreateExecution: RUNNING (CANCELED when not triggered), with its input events.
        ex = pb.Execution(type_id=self.kfp.type_id("execution", type_name))
        if name is not None:
            ex.name = name
        ex.last_known_state = pb.Execution.CANCELED if state == "CANCELED" else pb.Execution.RUNNING
        custom: dict[str, Any] = {"display_name": task_name, "task_name": task_name}
        if parent is not None:
            custom["parent_dag_id"] = parent.id
        if iteration_index is not None:
            custom["iteration_index"] = iteration_index
        custom.update(props or {})
        for key, value in custom.items():
            if key in ("inputs", "outputs") and isinstance(value, Mapping):
                ex.custom_properties[key].CopyFrom(struct_value(value))
            else:
                set_value(value, ex.custom_properties[key])
        pairs = [
            (None, key_event(pb.Event.INPUT, key, art))
            for key, art in (input_artifacts or {}).items()
        ]
        ex_id, _, _ = mlmd.put_execution(ex, pairs, self.contexts)
        task = Task(
            ex_id, task_name, type_name, state, parent=parent, iteration_index=iteration_index
        )
        if state == "CANCELED":
            return task
        # PublishExecution: the final state, output parameters and output artifacts.
        ex.id = ex_id
        ex.last_known_state = pb.Execution.State.Value(state)
        if outputs is not None:
            ex.custom_properties["outputs"].CopyFrom(struct_value(outputs))
        out_pairs: list[tuple[pb.Artifact | None, pb.Event]] = []
        keys: list[str] = []
        for key, (art_type, metadata) in (output_artifacts or {}).items():
            uri = f"{self.root_uri}/{task_name}/{ex_id}/{key}"
            art = pb.Artifact(
                type_id=self.kfp.type_id("artifact", art_type), uri=uri, state=pb.Artifact.LIVE
            )
            art.custom_properties["display_name"].string_value = key
            for meta_key, value in metadata.items():
                set_value(value, art.custom_properties[meta_key])
            out_pairs.append((art, key_event(pb.Event.OUTPUT, key)))
            keys.append(key)
            task.uris[key] = uri
        for key, art_id in (reuse_outputs or {}).items():
            out_pairs.append((None, key_event(pb.Event.OUTPUT, key, art_id)))
        _, art_ids, _ = mlmd.put_execution(ex, out_pairs, self.contexts)
        written = iter(art_ids)
        for key in keys:
            task.outputs[key] = next(written)
        for key, art_id in (reuse_outputs or {}).items():
            task.outputs[key] = art_id
            task.uris[key] = mlmd.get_artifacts_by_id([art_id])[0].uri
        return task

    def dag(
        self,
        task_name: str,
        *,
        parent: Task | None = None,
        state: str = "COMPLETE",
        iteration_count: int | None = None,
        iteration_index: int | None = None,
        total_dag_tasks: int | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> Task:
        """A DAG task: a nested pipeline, a condition, a loop (``iteration_count``) or one
        loop iteration (``iteration_index``, under the loop DAG)."""
        props: dict[str, Any] = {"inputs": dict(inputs or {})}
        if iteration_count is not None:
            props["iteration_count"] = iteration_count
        if total_dag_tasks is not None:
            props["total_dag_tasks"] = total_dag_tasks
        return self._execute(
            DAG,
            task_name,
            parent or self.root,
            state=state,
            props=props,
            iteration_index=iteration_index,
        )

    def container(
        self,
        task_name: str,
        *,
        parent: Task | None = None,
        image: str = "python:3.11",
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        input_artifacts: Mapping[str, int] | None = None,
        output_artifacts: Mapping[str, str] | None = None,
        metadata: Mapping[str, Mapping[str, Any]] | None = None,
        state: str = "COMPLETE",
        iteration_index: int | None = None,
        cache_fingerprint: str | None = None,
        logs: bool = True,
    ) -> Task:
        """A container task. ``output_artifacts`` maps output keys to artifact types;
        ``metadata`` gives what the component wrote into each output's metadata."""
        seq = next(self.kfp._seq)
        props: dict[str, Any] = {
            "inputs": dict(inputs or {}),
            "image": image,
            "namespace": self.namespace,
            "pod_name": f"{task_name}-driver-{seq}",
            "pod_uid": f"00000000-0000-4000-8000-{seq:012d}",
        }
        if cache_fingerprint is not None:
            props["cache_fingerprint"] = cache_fingerprint
        arts = {
            key: (art_type, dict((metadata or {}).get(key, {})))
            for key, art_type in (output_artifacts or {}).items()
        }
        if logs and state != "CANCELED":
            arts[LOGS_KEY] = ("system.Artifact", {})
        return self._execute(
            CONTAINER,
            task_name,
            parent or self.root,
            state=state,
            props=props,
            input_artifacts=input_artifacts,
            output_artifacts=arts,
            outputs=outputs if outputs is not None else {},
            iteration_index=iteration_index,
        )

    def cached(
        self,
        task_name: str,
        original: Task,
        *,
        parent: Task | None = None,
        image: str = "python:3.11",
        inputs: Mapping[str, Any] | None = None,
        input_artifacts: Mapping[str, int] | None = None,
        cache_fingerprint: str = "fp",
    ) -> Task:
        """A cache hit: CACHED, ``cached_execution_id`` naming the original execution, and
        OUTPUT events pointing at the original's artifacts (its logs are not reused)."""
        reused = {k: v for k, v in original.outputs.items() if k != LOGS_KEY}
        props: dict[str, Any] = {
            "inputs": dict(inputs or {}),
            "image": image,
            "namespace": self.namespace,
            "pod_name": "",
            "pod_uid": "",
            "cached_execution_id": str(original.id),
            "cache_fingerprint": cache_fingerprint,
        }
        return self._execute(
            CONTAINER,
            task_name,
            parent or self.root,
            state="CACHED",
            props=props,
            input_artifacts=input_artifacts,
            reuse_outputs=reused,
            outputs={},
        )

    def importer(
        self,
        task_name: str,
        uri: str,
        artifact_type: str = "system.Dataset",
        *,
        parent: Task | None = None,
        reimport: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> Task:
        """An importer: with ``reimport=False`` it reuses an artifact already recorded at
        this URI in the same pipeline (KFP's FindMatchedArtifact), else it records a new one."""
        mlmd = self.kfp.mlmd
        existing: int | None = None
        if not reimport:
            pipeline_ctx = self.contexts[0].id
            for art in mlmd.get_artifacts_by_uri(uri):
                in_pipeline = {c.id for c in mlmd.get_contexts_by_artifact(art.id)}
                if pipeline_ctx in in_pipeline:
                    existing = art.id
                    break
        props = {"inputs": {"uri": uri}}
        if existing is not None:
            return self._execute(
                IMPORTER,
                task_name,
                parent or self.root,
                state="COMPLETE",
                props=props,
                reuse_outputs={"artifact": existing},
                outputs={},
            )
        task = self._execute(
            IMPORTER, task_name, parent or self.root, state="COMPLETE", props=props, outputs={}
        )
        art = pb.Artifact(
            type_id=self.kfp.type_id("artifact", artifact_type), uri=uri, state=pb.Artifact.LIVE
        )
        art.custom_properties["display_name"].string_value = "artifact"
        for key, value in (metadata or {}).items():
            set_value(value, art.custom_properties[key])
        ex = mlmd.get_executions_by_id([task.id])[0]
        _, [art_id], _ = mlmd.put_execution(
            ex, [(art, key_event(pb.Event.OUTPUT, "artifact"))], self.contexts
        )
        task.outputs["artifact"] = art_id
        task.uris["artifact"] = uri
        return task

    def not_triggered(self, task_name: str, *, parent: Task | None = None) -> Task:
        """A condition branch not taken: KFP records it CANCELED and runs nothing inside."""
        return self.dag(task_name, parent=parent, state="CANCELED")

    def finish(self, state: str = "COMPLETE") -> None:
        """Set the root DAG's final state (KFP propagates it when the last task ends)."""
        mlmd = self.kfp.mlmd
        root = mlmd.get_executions_by_id([self.root.id])[0]
        root.last_known_state = pb.Execution.State.Value(state)
        mlmd.put_executions([root])
        self.root.state = state
