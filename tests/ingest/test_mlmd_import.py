"""``ingest mlmd``: a store in KFP's conventions imports faithfully, and twice is once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.model import EventType, ExecutionState, KfpType, artifact_id, run_id, task_id
from lineage.store.mlmd import MlmdStore
from tests.ingest.mlmd_helpers import (
    RUN_A,
    RUN_B,
    Acceptance,
    acceptance_store,
    fast_tmp,
    ingest,
    open_home,
    source_counts,
)

__all__ = ["fast_tmp"]  # a fixture, used by name


@pytest.fixture
def built(fast_tmp: Path) -> tuple[Path, Acceptance]:
    source = fast_tmp / "kfp.sqlite"
    return source, acceptance_store(source)


@pytest.fixture
def store(fast_tmp: Path) -> Iterator[MlmdStore]:
    opened = open_home(fast_tmp / "home")
    yield opened
    opened.close()


def _events(store: MlmdStore, execution: str) -> dict[tuple[EventType, str | None], str]:
    return {(e.type, e.key): e.artifact for e in store.get_events(execution_ids=[execution])}


def test_every_source_node_and_event_lands_once(
    built: tuple[Path, Acceptance], store: MlmdStore
) -> None:
    source, _ = built
    report = ingest(source, store)
    assert (report.read, report.written, report.failed) == (2, 2, 0)
    counts = store.counts()
    want = source_counts(source)
    # Our store adds one context: the ingest watermark.
    assert counts.contexts == want["Context"] + 1
    assert (counts.executions, counts.artifacts, counts.events) == (
        want["Execution"],
        want["Artifact"],
        want["Event"],
    )


def test_runs_keep_kfp_names_and_the_pipeline_parent(
    built: tuple[Path, Acceptance], store: MlmdStore
) -> None:
    source, _ = built
    ingest(source, store)
    for run in (RUN_A, RUN_B):
        [ctx] = store.get_contexts([run_id(run)])
        assert (ctx.type, ctx.name, ctx.parents) == (
            KfpType.PIPELINE_RUN,
            run,
            ("pipeline:acceptance",),
        )
        assert ctx.properties["namespace"] == "kubeflow"
        assert str(ctx.properties["pipeline_root"]).endswith(f"/acceptance/{run}")
        [root] = store.get_executions([task_id(run, "")])
        assert (root.type, root.name) == (KfpType.DAG_EXECUTION, f"run/{run}")


def test_loop_iterations_carry_their_index_in_the_task_path(
    built: tuple[Path, Acceptance], store: MlmdStore
) -> None:
    source, _ = built
    ingest(source, store)
    [loop] = store.get_executions([task_id(RUN_A, "for-loop-2")])
    assert loop.properties["iteration_count"] == 3
    for i in range(3):
        iteration_path = f"for-loop-2/for-loop-2[{i}]"
        [iteration] = store.get_executions([task_id(RUN_A, iteration_path)])
        [train] = store.get_executions([task_id(RUN_A, f"{iteration_path}/train")])
        assert iteration.properties["iteration_index"] == i
        assert iteration.properties["parent_task"] == loop.id
        assert train.properties["parent_task"] == iteration.id
        assert train.properties["cache_fingerprint"] == f"fp-train-{i}"
        assert train.properties["inputs"] == {"learning_rate": pytest.approx(0.1 * (i + 1))}
        assert train.state == ExecutionState.COMPLETE


def test_branch_not_taken_is_canceled_and_nested_tasks_nest(
    built: tuple[Path, Acceptance], store: MlmdStore
) -> None:
    source, _ = built
    ingest(source, store)
    [skipped] = store.get_executions([task_id(RUN_A, "condition-4")])
    [taken] = store.get_executions([task_id(RUN_A, "condition-3")])
    assert (skipped.state, taken.state) == (ExecutionState.CANCELED, ExecutionState.COMPLETE)
    [deploy] = store.get_executions([task_id(RUN_A, "condition-3/deploy")])
    assert deploy.properties["parent_task"] == taken.id
    [evaluate] = store.get_executions([task_id(RUN_A, "evaluate-pipeline/evaluate")])
    assert evaluate.properties["parent_task"] == task_id(RUN_A, "evaluate-pipeline")
    assert evaluate.properties["outputs"] == {"accuracy": pytest.approx(0.93)}
    # KFP's own parent_dag_id (a row of the source) is kept as it was written.
    assert isinstance(evaluate.properties["parent_dag_id"], int)


def test_a_cache_hit_links_to_the_original_task_and_its_artifacts(
    built: tuple[Path, Acceptance], store: MlmdStore
) -> None:
    source, handles = built
    ingest(source, store)
    original_id = task_id(RUN_A, "for-loop-2/for-loop-2[0]/train")
    [cached] = store.get_executions([task_id(RUN_B, "train")])
    assert cached.state == ExecutionState.CACHED
    assert cached.properties["cached_from"] == original_id
    assert cached.properties["cached_execution_id"] == str(handles.original.id)
    reused = _events(store, cached.id)[(EventType.OUTPUT, "model")]
    assert reused == _events(store, original_id)[(EventType.OUTPUT, "model")]
    assert reused == artifact_id(handles.original.uris["model"])
    # The model belongs to both runs now, as KFP attributes it.
    assert reused in {a.id for a in store.get_run(run_id(RUN_B)).artifacts}
    [downstream] = store.get_executions([task_id(RUN_B, "evaluate")])
    assert _events(store, downstream.id)[(EventType.INPUT, "model")] == reused


def test_importers_share_the_artifact_at_their_uri_and_logs_are_kept(
    built: tuple[Path, Acceptance], store: MlmdStore
) -> None:
    source, handles = built
    ingest(source, store)
    dataset = artifact_id("gs://datasets/iris.csv")
    assert handles.importer_a.outputs["artifact"] == handles.importer_b.outputs["artifact"]
    for run in (RUN_A, RUN_B):
        [importer] = store.get_executions([task_id(run, "importer")])
        assert importer.type == KfpType.IMPORTER_EXECUTION
        assert _events(store, importer.id)[(EventType.OUTPUT, "artifact")] == dataset
    [data] = store.get_artifacts([dataset])
    assert (data.type, data.properties["display_name"]) == (KfpType.DATASET, "artifact")
    for train in handles.loop_trains:
        [art] = store.get_artifacts([artifact_id(train.uris["executor-logs"])])
        assert art.type == KfpType.ARTIFACT
    nested_logs = _events(store, task_id(RUN_A, "evaluate-pipeline/evaluate"))
    assert (EventType.OUTPUT, "executor-logs") in nested_logs


def test_a_second_import_changes_nothing(built: tuple[Path, Acceptance], store: MlmdStore) -> None:
    source, _ = built
    ingest(source, store)
    before = store.counts()
    ids = [c.id for c in store.list_contexts(page_size=1000).items]
    ids += [e.id for e in store.list_executions(page_size=1000).items]
    ids += [a.id for a in store.list_artifacts(page_size=1000).items]
    stamps = store.stamps(ids)
    again = ingest(source, store, full=True)
    assert (again.read, again.written, again.unchanged, again.failed) == (2, 0, 2, 0)
    assert store.counts() == before
    assert store.stamps(ids) == stamps


def test_a_reimported_uri_gets_a_qualified_id(fast_tmp: Path, store: MlmdStore) -> None:
    source = fast_tmp / "kfp.sqlite"
    acceptance_store(source)
    from tests.ingest.kfp_store import KfpStore

    kfp = KfpStore.sqlite(source)
    again = kfp.run("3a1f5c9e-0d6b-4e2a-9f00-00000000000c", pipeline="acceptance")
    fresh = again.importer("importer", "gs://datasets/iris.csv", reimport=True)
    ingest(source, store)
    row = fresh.outputs["artifact"]
    qualified = artifact_id("gs://datasets/iris.csv", str(row))
    [art] = store.get_artifacts([qualified])
    assert art.uri == "gs://datasets/iris.csv"
    assert store.get_artifacts([artifact_id("gs://datasets/iris.csv")])


def test_parent_links_batched_by_an_ingest_are_never_missed_by_readers(fast_tmp: Path) -> None:
    """Inside deferred_parent_links() the run -> pipeline links wait to be written in a
    batch; a read of those contexts, a watermark, or the end of the block writes them."""
    from lineage.store.connect import open_sqlite
    from tests.kit.records import training_run

    path = fast_tmp / "home" / "mlmd.sqlite"
    store = open_sqlite(path)
    other = open_sqlite(path)  # another reader of the same file
    try:
        with store.deferred_parent_links():
            store.put_run(training_run("r1"))
            store.put_run(training_run("r2"))
            assert other.get_contexts([run_id("r2")])[0].parents == ()  # not yet written
            assert store.get_contexts([run_id("r1")])[0].parents == ("pipeline:train",)
            store.put_run(training_run("r3"))
            store.put_state("ingest:test", {"since_ms": 1})
            assert other.get_contexts([run_id("r3")])[0].parents == ("pipeline:train",)
            store.put_run(training_run("r4"))
        assert other.get_contexts([run_id("r4")])[0].parents == ("pipeline:train",)
        # Written again, it changes nothing (the kill -9 test covers links a crash lost).
        again = store.put_run(training_run("r4"))
        assert not again.changed
    finally:
        store.close()
        other.close()
