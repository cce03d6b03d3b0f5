"""Stores written by other MLMD users (TFX's type names and typed properties, no external
ids, nodes outside any run or outside any context) import whole. TFX's runs, pipelines
and models take the roles KFP's types name (lineage.ingest.kfp_mlmd.tfx); every other type
is kept as it is."""

from __future__ import annotations

from pathlib import Path

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.model import EventType
from tests.ingest.mlmd_helpers import fast_tmp, ingest, open_home, source_counts

__all__ = ["fast_tmp"]

TRAINER = "tfx.components.trainer.component.Trainer"
EXAMPLE_GEN = "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen"


def _tfx_store(path: Path) -> dict[str, int]:
    """A TFX-like pipeline run: contexts pipeline / pipeline_run / node (the run and the
    nodes children of the pipeline), typed properties, executions in three contexts;
    plus an execution and an artifact that belong to no context, and an artifact with
    no URI."""
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    mlmd = metadata_store.MetadataStore(config)
    string, integer = pb.STRING, pb.INT
    ctx_type = {
        name: mlmd.put_context_type(pb.ContextType(name=name, properties=props))
        for name, props in (
            ("pipeline", {"pipeline_name": string}),
            ("pipeline_run", {"pipeline_name": string}),
            ("node", {"node_id": string}),
        )
    }
    examples_t = mlmd.put_artifact_type(
        pb.ArtifactType(name="Examples", properties={"span": integer, "split_names": string})
    )
    model_t = mlmd.put_artifact_type(pb.ArtifactType(name="Model"))
    stats_t = mlmd.put_artifact_type(pb.ArtifactType(name="ExampleStatistics"))
    gen_t = mlmd.put_execution_type(
        pb.ExecutionType(name=EXAMPLE_GEN, properties={"state": string})
    )
    trainer_t = mlmd.put_execution_type(pb.ExecutionType(name=TRAINER))

    def ctx(kind: str, name: str, **props: str) -> pb.Context:
        c = pb.Context(type_id=ctx_type[kind], name=name)
        for key, value in props.items():
            c.properties[key].string_value = value
        [c.id] = mlmd.put_contexts([c])
        return c

    pipeline = ctx("pipeline", "taxi", pipeline_name="taxi")
    run = ctx("pipeline_run", "taxi-20240501", pipeline_name="taxi")
    gen_node = ctx("node", "taxi.CsvExampleGen", node_id="CsvExampleGen")
    trainer_node = ctx("node", "taxi.Trainer", node_id="Trainer")
    mlmd.put_parent_contexts(
        [
            pb.ParentContext(child_id=child.id, parent_id=pipeline.id)
            for child in (run, gen_node, trainer_node)
        ]
    )

    examples = pb.Artifact(type_id=examples_t, uri="/tfx/taxi/CsvExampleGen/examples/1")
    examples.properties["span"].int_value = 0
    examples.properties["split_names"].string_value = '["train", "eval"]'
    gen = pb.Execution(type_id=gen_t, last_known_state=pb.Execution.COMPLETE)
    gen.properties["state"].string_value = "complete"
    out = pb.Event(type=pb.Event.OUTPUT)
    out.path.steps.add().key = "examples"
    out.path.steps.add().index = 0
    gen_row, [examples_row], _ = mlmd.put_execution(
        gen, [(examples, out)], [pipeline, run, gen_node]
    )

    model = pb.Artifact(type_id=model_t, uri="/tfx/taxi/Trainer/model/2")
    trainer = pb.Execution(type_id=trainer_t, last_known_state=pb.Execution.COMPLETE)
    trainer.custom_properties["module_file"].string_value = "taxi_utils.py"
    consume = pb.Event(type=pb.Event.INPUT, artifact_id=examples_row)
    consume.path.steps.add().key = "examples"
    produce = pb.Event(type=pb.Event.OUTPUT)
    produce.path.steps.add().key = "model"
    trainer_row, _, _ = mlmd.put_execution(
        trainer, [(None, consume), (model, produce)], [pipeline, run, trainer_node]
    )
    # Outside any context: an ad-hoc analysis execution reading the examples, a stray
    # artifact, and statistics with no URI at all.
    lone = pb.Execution(
        type_id=trainer_t, name="adhoc-analysis", last_known_state=pb.Execution.COMPLETE
    )
    read = pb.Event(type=pb.Event.INPUT, artifact_id=examples_row)
    read.path.steps.add().key = "examples"
    stats = pb.Artifact(type_id=stats_t)
    stats.custom_properties["num_examples"].int_value = 1000
    write = pb.Event(type=pb.Event.OUTPUT)
    write.path.steps.add().key = "statistics"
    lone_row, [_, stats_row], _ = mlmd.put_execution(lone, [(None, read), (stats, write)], [])
    [stray_row] = mlmd.put_artifacts([pb.Artifact(type_id=model_t, uri="/tfx/scratch/model")])
    return {
        "gen": gen_row,
        "trainer": trainer_row,
        "lone": lone_row,
        "stray": stray_row,
        "stats": stats_row,
        "examples": examples_row,
    }


def test_a_tfx_store_imports_whole_in_the_roles_of_its_types(fast_tmp: Path) -> None:
    source = fast_tmp / "tfx.sqlite"
    _tfx_store(source)
    store = open_home(fast_tmp / "home")
    report = ingest(source, store)
    assert report.failed == 0 and report.read > 0
    counts = store.counts()
    want = source_counts(source)
    assert counts.contexts == want["Context"] + 1  # plus the watermark
    assert (counts.executions, counts.artifacts, counts.events) == (
        want["Execution"],
        want["Artifact"],
        want["Event"],
    )
    for type_name in (
        "system.Pipeline",
        "system.PipelineRun",
        "node",
        "Examples",
        "system.Model",
        TRAINER,
        EXAMPLE_GEN,
    ):
        assert counts.by_type[type_name] >= 1, type_name
    [run] = store.get_contexts(["run:taxi-20240501"])
    assert run.parents == ("pipeline:taxi",)
    assert run.properties["pipeline_name"] == "taxi"  # a typed property, kept
    assert run.properties["source_type"] == "pipeline_run"
    [trainer] = store.get_executions(["task:taxi-20240501/Trainer"])
    assert (trainer.type, trainer.properties["task_name"]) == (TRAINER, "Trainer")
    [model] = store.get_artifacts(["artifact:/tfx/taxi/Trainer/model/2"])
    assert (model.type, model.properties["source_type"]) == ("system.Model", "Model")
    [examples] = store.get_artifacts(["artifact:/tfx/taxi/CsvExampleGen/examples/1"])
    assert (examples.type, examples.properties["span"]) == ("Examples", 0)
    store.close()


def test_nodes_outside_any_context_are_recorded_on_their_own(fast_tmp: Path) -> None:
    source = fast_tmp / "tfx.sqlite"
    rows = _tfx_store(source)
    store = open_home(fast_tmp / "home")
    ingest(source, store)
    [lone] = store.get_executions([f"execution:{TRAINER}/adhoc-analysis"])
    events = {(e.type, e.key): e.artifact for e in store.get_events(execution_ids=[lone.id])}
    assert events[(EventType.INPUT, "examples")] == "artifact:/tfx/taxi/CsvExampleGen/examples/1"
    stats_id = events[(EventType.OUTPUT, "statistics")]
    assert stats_id.endswith(f"/{rows['stats']}")  # no URI: named by its row in the source
    [stats] = store.get_artifacts([stats_id])
    assert (stats.type, stats.properties["num_examples"]) == ("ExampleStatistics", 1000)
    assert store.get_artifacts(["artifact:/tfx/scratch/model"])
    # An execution of a run is its task, written once whatever other contexts hold it.
    trainers = [e for e in store.list_executions(TRAINER).items if e.id != lone.id]
    assert [t.id for t in trainers] == ["task:taxi-20240501/Trainer"]
    again = ingest(source, store, full=True)
    assert (again.written, again.failed) == (0, 0)
    store.close()
