"""``lineage run``: run a pipeline with kfp.local and record it as the KFP backend would.

kfp.local records nothing; this is the source that makes a local run a
faithful lineage record. Running (``run_pipeline``) and recording
(``record_local_run``) are apart: the observation is plain data, and
recording it again changes nothing.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lineage import model
from lineage.errors import BadInputError
from lineage.ingest import ir
from lineage.ingest.kfp_local.facts import LocalRun
from lineage.ingest.kfp_local.load import CompiledPipeline
from lineage.ingest.kfp_local.record import run_record
from lineage.ingest.spec import PipelineSpecInfo, keep_stored_properties, spec_unit
from lineage.ingest.units import Unit, write_together
from lineage.model import RunRecord

if TYPE_CHECKING:
    from lineage.ingest.kfp_local.runners import ContainerRunner
    from lineage.ingest.kfp_local.walk import BeforeTask
from lineage.store.port import MetadataStore, WriteResult


def check_runnable(compiled: CompiledPipeline) -> None:
    """Refuse, before anything runs, what kfp.local cannot run."""
    where = f"{compiled.file}:{compiled.attribute}"
    for task in ir.walk_tasks(compiled.spec, where):
        feature = ir.unsupported_by_local(task)
        if feature:
            raise BadInputError(
                f"{where}: task {task.path} uses {feature}, which kfp.local cannot run; "
                "run it on a KFP cluster and record it with `lineage ingest mlmd`"
            )
    for info in compiled.info.tasks:
        if info.kind not in ("dag", "container", "importer"):
            raise BadInputError(
                f"{where}: task {info.path} has a {info.kind} executor, which kfp.local cannot run"
            )


def run_pipeline(
    compiled: CompiledPipeline,
    arguments: Mapping[str, Any],
    pipeline_root: Path,
    log: TextIO,
    before_task: BeforeTask | None = None,
    task_runner: ContainerRunner | None = None,
) -> LocalRun:
    """Run every task with kfp.local's SubprocessRunner (in this Python), watching each one,
    or the container tasks with ``task_runner``.

    kfp.local's own output goes to ``log``. A failing task stops the run, as in
    kfp.local; everything that ran before it is in the returned observation. The
    task runner gets every image ready before any task runs.
    """
    check_runnable(compiled)
    if task_runner is not None:
        task_runner.prepare(_images(compiled.spec))
    from google.protobuf import json_format
    from kfp import local
    from kfp.local import executor_input_utils, placeholder_utils
    from kfp.pipeline_spec import pipeline_spec_pb2

    from lineage.ingest.kfp_local.output import OutputTail
    from lineage.ingest.kfp_local.walk import LocalWalker

    root = pipeline_root.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"{root}: cannot create the pipeline root: {exc.strerror}") from exc
    runner = local.SubprocessRunner(use_venv=False)
    local.init(runner=runner, pipeline_root=str(root), raise_on_error=False)
    # kfp.local's own run id ("<pipeline>-<timestamp>") and job id, made as kfp.local makes them.
    run_id = executor_input_utils.get_local_pipeline_resource_name(compiled.info.pipeline)
    job_id = placeholder_utils.make_random_id()
    proto = json_format.ParseDict(
        compiled.spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=True
    )
    tail = OutputTail(log)
    walker = LocalWalker(proto, run_id, job_id, str(root), runner, tail, before_task, task_runner)
    with contextlib.redirect_stdout(tail):
        state, error = walker.run(arguments)
    return LocalRun(
        run_id=run_id,
        job_id=job_id,
        pipeline=compiled.info.pipeline,
        spec_id=compiled.info.id,
        pipeline_root=str(root),
        run_root=str(root / run_id),
        arguments=dict(arguments),
        state=state,
        tasks=walker.observed(),
        artifacts=dict(walker.artifacts),
        host=socket.gethostname(),
        error=error,
        runner=task_runner.name if task_runner else "kfp.local.SubprocessRunner",
    )


def _images(spec: Mapping[str, Any]) -> list[str]:
    """Every container image the compiled spec names, in its executors' order."""
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    images = (e.get("container", {}).get("image") for e in executors.values())
    return [image for image in images if image]


def _dag_rows(store: MetadataStore, run: LocalRun) -> dict[str, int]:
    """The store's row ids of the run's DAG executions, for KFP's ``parent_dag_id``.

    Only an MLMD-backed store has row ids; elsewhere ``parent_task`` alone
    carries the nesting.
    """
    ids = [model.task_id(run.run_id, t.path) for t in run.tasks if t.kind in ("root", "dag")]
    return store.execution_row_ids(ids)


def build_record(store: MetadataStore, run: LocalRun) -> RunRecord:
    """The run's record against what the store holds (row ids, reused importer artifacts)."""
    imported = [uid for t in run.tasks if t.kind == "importer" for _, uid in t.output_artifacts]
    stored = {a.id: a for a in store.get_artifacts(imported)} if imported else {}
    return keep_stored_properties(store, run_record(run, _dag_rows(store, run), stored))


def record_local_run(store: MetadataStore, run: LocalRun, info: PipelineSpecInfo) -> WriteResult:
    """Record the pipeline version, then the run in one transaction.

    KFP's ``parent_dag_id`` is the MLMD row id of the parent DAG execution, which
    exists only once the run is written; the first recording therefore follows
    the run with a second, idempotent write that adds it (``parent_task`` already
    holds the same fact by stable id). Recording the run again changes nothing.
    """
    if info.id != run.spec_id:
        raise BadInputError(f"run {run.run_id} ran {run.spec_id}, not {info.id}")
    first: list[RunRecord] = []  # the run as first written: is its parent_dag_id missing?

    def run_unit() -> RunRecord:
        first.append(build_record(store, run))
        return first[0]

    def dag_links() -> RunRecord | None:
        dags = sum(1 for t in run.tasks if t.kind in ("root", "dag"))
        if len(_dag_rows(store, run)) == dags and any(
            t.parent is not None and "parent_dag_id" not in e.properties
            for t, e in zip(run.tasks, first[0].executions, strict=True)
        ):
            return build_record(store, run)
        return None

    label = model.run_id(run.run_id)
    return write_together(
        store,
        [
            spec_unit(store, info),
            Unit(label, label, run_unit),
            Unit(f"{label} parent_dag_id", label, dag_links),
        ],
    )
