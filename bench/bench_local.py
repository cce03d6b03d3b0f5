"""What recording costs: `lineage run` vs kfp.local alone, spec ingest vs raw MLMD writes.

Run: .venv/bin/python bench/bench_local.py [--runs 3] [--copies 10]

1. Local runs. The anchor is kfp.local running the training example by itself
   (``local.init`` + calling the pipeline), which records nothing. Ours is
   ``lineage run``'s path: compile, run the same pipeline task by task through
   kfp.local's handlers, hash every artifact, and record the run in a fresh
   MLMD SQLite store. Runs alternate so machine load hits both alike.
2. Spec ingest. The anchor is the least any spec ingest must do: parse the
   YAML (libyaml) and write the same two contexts (pipeline, version with the
   spec as a property) and their parent link with raw MLMD calls on pre-built
   protos, with no lookups and no idempotency. Ours is ``lineage ingest
   spec``'s path: load, parse, map tasks and images, and ``put_run``. Each
   spec copy is made unique so every write creates a version.

Results go to bench/results/local.md with the date and the machine.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ARGS = {"rows": 200, "epochs": 20}


def kfp_local_alone(root: Path) -> float:
    from kfp import local

    from lineage.examples.training import training_pipeline

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        training_pipeline(**ARGS)
    return time.perf_counter() - start


def lineage_run(root: Path, store_path: Path) -> tuple[float, float]:
    """(total seconds, of which recording) for compile + run + record."""
    from lineage.ingest.kfp_local.load import compile_pipeline
    from lineage.ingest.kfp_local.run import record_local_run, run_pipeline
    from lineage.store.connect import open_sqlite

    start = time.perf_counter()
    compiled = compile_pipeline(REPO / "lineage/examples/training.py", "training_pipeline")
    ran = run_pipeline(compiled, ARGS, root, io.StringIO())
    assert ran.state == "COMPLETE", ran.error
    store = open_sqlite(store_path)
    recorded = time.perf_counter()
    record_local_run(store, ran, compiled.info)
    end = time.perf_counter()
    store.close()
    return end - start, end - recorded


def raw_spec_writes(files: list[Path], path: Path) -> float:
    """The anchor: libyaml parse + raw MLMD writes of the same contexts, nothing else."""
    import hashlib
    import json

    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    mlmd = metadata_store.MetadataStore(config)
    pipeline_type = mlmd.put_context_type(pb.ContextType(name="system.Pipeline"))
    version_type = mlmd.put_context_type(pb.ContextType(name="lineage.PipelineVersion"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = time.perf_counter()
    for file in files:
        spec = yaml.load(file.read_text(), Loader=loader)
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        digest = "spec:sha256:" + hashlib.sha256(text.encode()).hexdigest()
        name = spec["pipelineInfo"]["name"]
        pipeline = pb.Context(type_id=pipeline_type, name=name, external_id=f"pipeline:{name}")
        version = pb.Context(type_id=version_type, name=digest, external_id=digest)
        version.custom_properties["pipeline_spec"].string_value = text
        _, _, ids = mlmd.put_lineage_subgraph(
            [], [], [pipeline, version], [], reuse_context_if_already_exist=True
        )
        mlmd.put_parent_contexts([pb.ParentContext(child_id=ids[1], parent_id=ids[0])])
    return time.perf_counter() - start


def spec_ingest(copies: int, work: Path) -> tuple[int, float, float]:
    from lineage.ingest.spec import load_spec_documents, parse_spec, write_spec
    from lineage.store.connect import open_sqlite
    from tests.pipelines import compile_all

    compiled = compile_all(work / "specs")
    files = []
    for n in range(copies):
        for name, path in compiled.items():
            doc = yaml.safe_load(path.read_text())
            doc["pipelineInfo"]["description"] = f"copy {n}"  # a distinct version per copy
            target = work / "copies" / f"{name}-{n}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(doc))
            files.append(target)
    anchor = raw_spec_writes(files, work / "raw.sqlite")
    store = open_sqlite(work / "specs.sqlite")
    start = time.perf_counter()
    for file in files:
        spec, platform_spec = load_spec_documents(file)
        write_spec(store, parse_spec(spec, platform_spec, source=str(file)))
    ours = time.perf_counter() - start
    store.close()
    return len(files), anchor, ours


def machine() -> str:
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip()
    return (
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start\n\n"
        f"```\n{mem}\n```"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/local.md")
    opts = parser.parse_args()
    when = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    header = machine()
    alone: list[float] = []
    ours: list[float] = []
    recording: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        work = Path(tmp)
        for i in range(opts.runs):
            alone.append(kfp_local_alone(work / f"alone-{i}"))
            total, rec = lineage_run(work / f"ours-{i}", work / f"ours-{i}.sqlite")
            ours.append(total)
            recording.append(rec)
            print(
                f"run {i}: kfp.local {alone[-1]:.2f}s, lineage run {total:.2f}s (record {rec:.3f}s)"
            )
        n, anchor, spec_s = spec_ingest(opts.copies, work)
    a, o, r = (statistics.median(x) for x in (alone, ours, recording))
    command = f".venv/bin/python bench/bench_local.py --runs {opts.runs} --copies {opts.copies}"
    per_anchor = 1000 * anchor / n
    text = f"""# Local runs and spec ingest

Measured {when} with
`{command}`.

Machine: {header}

The machine was shared with other engineers' test suites while this ran, so
absolute times are noisy; the ratios compare runs interleaved in the same process.

## `lineage run` against kfp.local alone

The training example (3 tasks, lightweight components; each task's subprocess
first runs the component's `pip install kfp==2.13.0` check, as kfp.local does).

| | median of {opts.runs} (s) | all runs (s) |
|---|---|---|
| kfp.local alone (anchor, records nothing) | {a:.2f} | {", ".join(f"{x:.2f}" for x in alone)} |
| lineage run: compile + run + hash + record | {o:.2f} | {", ".join(f"{x:.2f}" for x in ours)} |
| of which recording into MLMD (SQLite) | {r:.3f} | {", ".join(f"{x:.3f}" for x in recording)} |

Ratio lineage run / kfp.local alone: **{o / a:.2f}x**; recording is {100 * r / o:.1f}% of it.

## Spec ingest against raw MLMD writes

{n} compiled specs (the 22 test pipelines x {opts.copies} distinct copies), one
pipeline version written per spec into a fresh SQLite store.

| | total (s) | per spec (ms) | specs/s |
|---|---|---|---|
| libyaml parse + raw MLMD writes (anchor) | {anchor:.2f} | {per_anchor:.2f} | {n / anchor:.0f} |
| load + parse + write (ours) | {spec_s:.2f} | {1000 * spec_s / n:.2f} | {n / spec_s:.0f} |

Ratio ours / anchor: **{spec_s / anchor:.2f}x**.
"""
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
