"""Writes an ML Metadata store the way TFX's portable orchestrator (1.x) does, with the raw
ml_metadata API.

For each component it runs, TFX:

- gets or creates three contexts by type and name: ``pipeline`` (the pipeline name),
  ``pipeline_run`` (the run id) and ``node`` (``<pipeline>.<node id>``); TFX 1.13 links
  none of them as parent and child (``linked=True`` adds the links later versions and
  other writers make);
- registers an execution typed by the component's class, RUNNING, with its exec
  properties and its INPUT events, associated with the three contexts; the execution is
  named by a generated id;
- publishes it COMPLETE (or FAILED) with its output artifacts (typed ``Examples``,
  ``Model``...; custom properties ``tfx_version``, ``state``, ``producer_component``) and
  OUTPUT events, each artifact attributed to the three contexts. Event paths are
  ``{key: <name>}, {index: <position>}``.

Usage::

    tfx = TfxStore.sqlite(path)
    run = tfx.run("penguin-tfma", "2024-05-01T10:00:00")
    examples = run.component("CsvExampleGen", EXAMPLE_GEN, outputs={"examples": "Examples"})
    model = run.component("Trainer", TRAINER, inputs={"examples": examples["examples"]},
                          outputs={"model": "Model"}, params={"train_args": '{"num_steps": 100}'})
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

EXAMPLE_GEN = "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen"
SCHEMA_GEN = "tfx.components.schema_gen.component.SchemaGen"
TRAINER = "tfx.components.trainer.component.Trainer"
EVALUATOR = "tfx.components.evaluator.component.Evaluator"
PUSHER = "tfx.components.pusher.component.Pusher"
TFX_VERSION = "1.13.0"


def _set(value: Any, target: pb.Value) -> None:
    if isinstance(value, bool | int):
        target.int_value = int(value)
    elif isinstance(value, float):
        target.double_value = value
    else:
        target.string_value = str(value)


class TfxStore:
    """An MLMD store written in TFX's conventions. Open with ``sqlite`` or ``mysql``."""

    def __init__(self, mlmd: metadata_store.MetadataStore, root: str = "/tfx/pipelines") -> None:
        self.mlmd = mlmd
        self.root = root
        self._seq = itertools.count(1)

    @classmethod
    def sqlite(cls, path: Path | str) -> TfxStore:
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        return cls(metadata_store.MetadataStore(config))

    @classmethod
    def mysql(cls, url: str) -> TfxStore:
        from lineage.store.connect import parse_mysql_url

        params = parse_mysql_url(url)
        config = pb.ConnectionConfig()
        for key in ("host", "port", "user", "password", "database"):
            setattr(config.mysql, key, params[key])
        return cls(metadata_store.MetadataStore(config))

    def context(self, type_name: str, name: str) -> pb.Context:
        """TFX's register-if-not-exists: one context per type and name."""
        found = self.mlmd.get_context_by_type_and_name(type_name, name)
        if found is not None:
            return found
        type_id = self.mlmd.put_context_type(pb.ContextType(name=type_name))
        ctx = pb.Context(type_id=type_id, name=name)
        [ctx.id] = self.mlmd.put_contexts([ctx])
        return ctx

    def run(self, pipeline: str, run_id: str, *, linked: bool = False) -> TfxRun:
        pipe = self.context("pipeline", pipeline)
        run = self.context("pipeline_run", run_id)
        if linked and not self.mlmd.get_parent_contexts_by_context(run.id):
            self.mlmd.put_parent_contexts([pb.ParentContext(child_id=run.id, parent_id=pipe.id)])
        return TfxRun(self, pipeline, run_id, pipe, run, linked)

    def artifact_type(self, name: str) -> int:
        props = {"span": pb.INT, "split_names": pb.STRING, "version": pb.INT}
        declared = props if name == "Examples" else {}
        return int(self.mlmd.put_artifact_type(pb.ArtifactType(name=name, properties=declared)))


@dataclass
class TfxRun:
    tfx: TfxStore
    pipeline: str
    run_id: str
    pipeline_ctx: pb.Context
    run_ctx: pb.Context
    linked: bool
    executions: dict[str, int] = field(default_factory=dict)  # node id -> last execution row

    def node(self, node_id: str) -> pb.Context:
        ctx = self.tfx.context("node", f"{self.pipeline}.{node_id}")
        if self.linked and not self.tfx.mlmd.get_parent_contexts_by_context(ctx.id):
            self.tfx.mlmd.put_parent_contexts(
                [pb.ParentContext(child_id=ctx.id, parent_id=self.pipeline_ctx.id)]
            )
        return ctx

    def component(
        self,
        node_id: str,
        component_class: str,
        *,
        inputs: Mapping[str, Sequence[int]] | None = None,
        outputs: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        state: int = pb.Execution.COMPLETE,
    ) -> dict[str, int]:
        """Run one component: register it RUNNING with its inputs, publish its outputs.
        Returns the output artifact rows by output key."""
        mlmd = self.tfx.mlmd
        contexts = [self.pipeline_ctx, self.run_ctx, self.node(node_id)]
        type_id = mlmd.put_execution_type(pb.ExecutionType(name=component_class))
        ex = pb.Execution(
            type_id=type_id, name=str(uuid.uuid4()), last_known_state=pb.Execution.RUNNING
        )
        for key, value in (params or {}).items():
            _set(value, ex.custom_properties[key])
        pairs: list[tuple[pb.Artifact | None, pb.Event]] = []
        for key, rows in (inputs or {}).items():
            for index, row in enumerate(rows):
                event = pb.Event(type=pb.Event.INPUT, artifact_id=row)
                event.path.steps.add().key = key
                event.path.steps.add().index = index
                pairs.append((None, event))
        ex.id, _, _ = mlmd.put_execution(ex, pairs, contexts)
        # Publishing: the final state, the outputs, every one in the three contexts.
        [ex] = mlmd.get_executions_by_id([ex.id])
        ex.last_known_state = state
        made: list[tuple[pb.Artifact | None, pb.Event]] = []
        keys = list((outputs or {}).items()) if state == pb.Execution.COMPLETE else []
        for key, type_name in keys:
            n = next(self.tfx._seq)
            art = pb.Artifact(
                type_id=self.tfx.artifact_type(type_name),
                uri=f"{self.tfx.root}/{self.pipeline}/{node_id}/{key}/{ex.id}",
                state=pb.Artifact.LIVE,
            )
            for prop, value in (
                ("tfx_version", TFX_VERSION),
                ("state", "published"),
                ("producer_component", node_id),
                ("name", f"{self.pipeline}:{self.run_id}:{node_id}:{key}:{n}"),
            ):
                art.custom_properties[prop].string_value = value
            if type_name == "Examples":
                art.properties["span"].int_value = 0
                art.properties["split_names"].string_value = '["train", "eval"]'
            event = pb.Event(type=pb.Event.OUTPUT)
            event.path.steps.add().key = key
            event.path.steps.add().index = 0
            made.append((art, event))
        _, rows, _ = mlmd.put_execution(ex, made, contexts)
        self.executions[node_id] = ex.id
        return {key: row for (key, _), row in zip(keys, rows, strict=True)}


def penguin_run(
    tfx: TfxStore,
    run_id: str,
    *,
    pipeline: str = "penguin-tfma",
    num_steps: int = 100,
    baseline: int | None = None,
    blessed: bool = True,
    linked: bool = False,
) -> dict[str, int]:
    """The penguin pipeline of TFX's examples: CsvExampleGen -> SchemaGen -> Trainer ->
    Evaluator (against ``baseline``, a model row of an earlier run) -> Pusher, which
    pushes when the Evaluator blessed the model. Returns artifact rows by name."""
    run = tfx.run(pipeline, run_id, linked=linked)
    gen = run.component(
        "CsvExampleGen",
        EXAMPLE_GEN,
        outputs={"examples": "Examples"},
        params={"input_base": "/data/penguin", "output_data_format": 6},
    )
    schema = run.component(
        "SchemaGen",
        SCHEMA_GEN,
        inputs={"statistics": [gen["examples"]]},
        outputs={"schema": "Schema"},
    )
    trainer = run.component(
        "Trainer",
        TRAINER,
        inputs={"examples": [gen["examples"]], "schema": [schema["schema"]]},
        outputs={"model": "Model", "model_run": "ModelRun"},
        params={"train_args": f'{{"num_steps": {num_steps}}}', "module_file": "penguin_utils.py"},
    )
    evaluator_inputs = {"examples": [gen["examples"]], "model": [trainer["model"]]}
    if baseline is not None:
        evaluator_inputs["baseline_model"] = [baseline]
    evaluator = run.component(
        "Evaluator",
        EVALUATOR,
        inputs=evaluator_inputs,
        outputs={"evaluation": "ModelEvaluation", "blessing": "ModelBlessing"},
        params={"eval_config": '{"metrics_specs": [{"metrics": [{"class_name": "Accuracy"}]}]}'},
    )
    rows = {**gen, **schema, **trainer, **evaluator}
    if blessed:
        pushed = run.component(
            "Pusher",
            PUSHER,
            inputs={"model": [trainer["model"]], "model_blessing": [evaluator["blessing"]]},
            outputs={"pushed_model": "PushedModel"},
            params={"push_destination": '{"filesystem": {"base_directory": "/serving"}}'},
        )
        rows.update(pushed)
    return rows


def uri_of(tfx: TfxStore, row: int) -> str:
    [art] = tfx.mlmd.get_artifacts_by_id([row])
    return str(art.uri)
