"""Ingest throughput of KFP-shaped runs into MLMD: our full write path against raw MLMD.

    .venv/bin/python bench/bench_ingest.py [--runs 2000] [--tasks 4] [--dir DIR] [--repeat 2]

Both sides write the same runs, one transaction per run, into a fresh SQLite MLMD store
in the same directory, in the same process:

- ours: the ingest loop (lineage.ingest.units.write_units) writing each RunRecord with
  MetadataStore.put_run: validation, lookups by external id for idempotency, the write,
  the run -> pipeline parent links (batched over the loop), the report;
- raw (the anchor): MLMD's put_lineage_subgraph with protos built before the clock
  starts, one call per run, types registered before the clock starts.

A run is a pipeline and a run context, a root DAG and ``--tasks`` container tasks in a
chain (each reads the previous task's output; the first reads a dataset every run
shares), each writing an output and its executor logs. The target is ours within 1.3x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lineage.ingest.report import IngestReport
from lineage.ingest.units import Unit, write_units
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    RunRecord,
    artifact_id,
    pipeline_id,
    run_id,
    task_id,
)
from lineage.store import convert
from lineage.store.connect import open_sqlite

ROOT = "minio://mlpipeline/v2/artifacts/bench"
DATASET = "gs://datasets/iris.csv"


def kfp_run(index: int, tasks: int) -> RunRecord:
    run = f"bench-{index:06d}"
    pipe = Context(pipeline_id("bench"), KfpType.PIPELINE, "bench")
    ctx = Context(
        run_id(run),
        KfpType.PIPELINE_RUN,
        run,
        {"namespace": "kubeflow", "pipeline_root": f"{ROOT}/{run}"},
        (pipe.id,),
    )
    root = Execution(task_id(run, ""), KfpType.DAG_EXECUTION, f"run/{run}", ExecutionState.COMPLETE)
    executions = [root]
    artifacts = [
        Artifact(artifact_id(DATASET), KfpType.DATASET, DATASET, properties={"display_name": "d"})
    ]
    events: list[Event] = []
    previous = artifacts[0].id
    for t in range(tasks):
        name = f"step-{t}"
        ex = Execution(
            task_id(run, name),
            KfpType.CONTAINER_EXECUTION,
            None,
            ExecutionState.COMPLETE,
            {
                "display_name": name,
                "task_name": name,
                "parent_task": root.id,
                "image": "python:3.11",
                "pod_name": f"{run}-{name}",
                "inputs": {"learning_rate": 0.1, "epochs": t},
                "cache_fingerprint": f"{index:06d}{t:02d}" * 4,
            },
        )
        out_uri = f"{ROOT}/{run}/{name}/output"
        logs_uri = f"{ROOT}/{run}/{name}/executor-logs"
        out = Artifact(
            artifact_id(out_uri), KfpType.MODEL, out_uri, properties={"display_name": "output"}
        )
        logs = Artifact(artifact_id(logs_uri), KfpType.ARTIFACT, logs_uri)
        executions.append(ex)
        artifacts += [out, logs]
        events += [
            Event(ex.id, previous, EventType.INPUT, ("input",)),
            Event(ex.id, out.id, EventType.OUTPUT, ("output",)),
            Event(ex.id, logs.id, EventType.OUTPUT, ("executor-logs",)),
        ]
        previous = out.id
    return RunRecord((pipe, ctx), tuple(executions), tuple(artifacts), tuple(events))


def nodes(record: RunRecord) -> int:
    return len(record.contexts) + len(record.executions) + len(record.artifacts)


def open_raw(path: Path) -> metadata_store.MetadataStore:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


@dataclass
class RawRun:
    executions: list[pb.Execution]
    artifacts: list[pb.Artifact]
    contexts: list[pb.Context]
    edges: list[tuple[int, int, pb.Event]]
    shared: list[int]  # positions of artifacts every run shares (their row id is set later)
    shared_contexts: list[int]  # positions of contexts every run shares (the pipeline)


def raw_protos(records: list[RunRecord], mlmd: metadata_store.MetadataStore) -> list[RawRun]:
    """The same records as MLMD protos, built (and types registered) before timing."""
    types: dict[tuple[str, str], int] = {}

    def type_id(kind: str, name: str) -> int:
        if (kind, name) not in types:
            put = {
                "context": (mlmd.put_context_type, pb.ContextType),
                "execution": (mlmd.put_execution_type, pb.ExecutionType),
                "artifact": (mlmd.put_artifact_type, pb.ArtifactType),
            }[kind]
            types[(kind, name)] = int(put[0](put[1](name=name)))
        return types[(kind, name)]

    out = []
    for record in records:
        ex_index = {e.id: i for i, e in enumerate(record.executions)}
        art_index = {a.id: i for i, a in enumerate(record.artifacts)}
        out.append(
            RawRun(
                [
                    convert.execution_to_proto(e, type_id("execution", e.type))
                    for e in record.executions
                ],
                [
                    convert.artifact_to_proto(a, type_id("artifact", a.type))
                    for a in record.artifacts
                ],
                [convert.context_to_proto(c, type_id("context", c.type)) for c in record.contexts],
                [
                    (ex_index[e.execution], art_index[e.artifact], convert.event_to_proto(e))
                    for e in record.events
                ],
                [art_index[artifact_id(DATASET)]],
                [i for i, c in enumerate(record.contexts) if c.type == KfpType.PIPELINE],
            )
        )
    return out


def time_raw(records: list[RunRecord], directory: Path) -> float:
    path = directory / "raw.sqlite"
    mlmd = open_raw(path)
    runs = raw_protos(records, mlmd)
    shared_row: int | None = None
    shared_ctx: int | None = None
    start = time.perf_counter()
    for run in runs:
        # A raw client reuses the rows it already knows, as ours does after its lookups.
        if shared_row is not None and shared_ctx is not None:
            for pos in run.shared:
                run.artifacts[pos].id = shared_row
            for pos in run.shared_contexts:
                run.contexts[pos].id = shared_ctx
        _, art_ids, ctx_ids = mlmd.put_lineage_subgraph(
            run.executions,
            run.artifacts,
            run.contexts,
            run.edges,
            reuse_context_if_already_exist=True,
        )
        shared_row = art_ids[run.shared[0]]
        shared_ctx = ctx_ids[run.shared_contexts[0]]
    elapsed = time.perf_counter() - start
    del mlmd
    path.unlink()
    return elapsed


def _same(record: RunRecord) -> RunRecord:
    return record


def time_ours(records: list[RunRecord], directory: Path) -> float:
    path = directory / "ours.sqlite"
    store = open_sqlite(path)
    # Register the types outside the clock too, as the anchor does.
    for record in records[:1]:
        for c in record.contexts:
            store.types.context(c.type)
        for e in record.executions:
            store.types.execution(e.type)
        for a in record.artifacts:
            store.types.artifact(a.type)
    units = [Unit(f"run:{i}", r.label, partial(_same, r)) for i, r in enumerate(records)]
    report = IngestReport("bench")
    start = time.perf_counter()
    failed = write_units(store, units, report)
    store.close()  # included: it writes what the ingest still holds
    elapsed = time.perf_counter() - start
    assert not failed and report.written == len(records), report.summary()
    del store
    path.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2, help="Alternating passes of each.")
    parser.add_argument("--dir", type=Path, default=None, help="Where the stores go (a disk).")
    args = parser.parse_args()
    records = [kfp_run(i, args.tasks) for i in range(args.runs)]
    node_count = sum(nodes(r) for r in records)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.dir))
    results: dict[str, list[float]] = {"raw": [], "ours": []}
    passes: list[tuple[str, Callable[[list[RunRecord], Path], float]]] = [
        ("raw", time_raw),
        ("ours", time_ours),
    ]
    try:
        for _ in range(args.repeat):
            for name, timed in passes:
                results[name].append(timed(records, work))
                print(f"  {name:4} {results[name][-1]:8.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raw = statistics.median(results["raw"])
    ours = statistics.median(results["ours"])
    print(f"directory     {work.parent} ({os.statvfs(work.parent).f_bsize} B blocks)")
    print(f"runs          {args.runs} x {args.tasks} tasks, {node_count} nodes")
    for name, seconds in (("raw MLMD", raw), ("ours", ours)):
        print(
            f"{name:13} {seconds:8.2f} s  {args.runs / seconds:8.1f} runs/s  "
            f"{node_count / seconds:9.1f} nodes/s"
        )
    print(f"ratio         {ours / raw:8.2f}x  (target: within 1.3x)")


if __name__ == "__main__":
    main()
