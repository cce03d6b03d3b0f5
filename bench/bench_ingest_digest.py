"""What the artifact digest bookkeeping costs an ingest that does not digest.

    .venv/bin/python bench/bench_ingest_digest.py [--runs 1000] [--tasks 4] [--dir DIR]

``lineage ingest mlmd|kfp`` writes through ``DigestingStore`` even without
``--digest-artifacts``: each run's artifacts are looked up (a digest already stored is
kept) and marked ``digest_absent: not requested``. This compares, in the same process on
the same runs (bench_ingest's KFP-shaped runs), the ingest loop writing to the store
directly (the anchor) and through ``DigestingStore``; passes alternate.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import kfp_run

from lineage.ingest.artifact_digest import ArtifactDigester
from lineage.ingest.digesting_store import DigestingStore
from lineage.ingest.report import IngestReport
from lineage.ingest.units import Unit, write_units
from lineage.model import RunRecord
from lineage.store.connect import open_sqlite
from lineage.store.port import MetadataStore


def _same(record: RunRecord) -> RunRecord:
    return record


def timed(records: list[RunRecord], directory: Path, wrapped: bool) -> float:
    path = directory / "store.sqlite"
    store = open_sqlite(path)
    target: MetadataStore = DigestingStore(store, ArtifactDigester()) if wrapped else store
    units = [Unit(f"run:{i}", r.label, partial(_same, r)) for i, r in enumerate(records)]
    report = IngestReport("bench")
    start = time.perf_counter()
    failed = write_units(target, units, report)
    store.close()
    elapsed = time.perf_counter() - start
    assert not failed and report.written == len(records), report.summary()
    path.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    records = [kfp_run(i, args.tasks) for i in range(args.runs)]
    work = Path(tempfile.mkdtemp(prefix="bench-digest-", dir=args.dir))
    results: dict[str, list[float]] = {"direct": [], "digesting": []}
    try:
        for _ in range(args.repeat):
            for name, wrapped in (("direct", False), ("digesting", True)):
                results[name].append(timed(records, work, wrapped))
                print(f"  {name:9} {results[name][-1]:8.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    direct = statistics.median(results["direct"])
    digesting = statistics.median(results["digesting"])
    print(f"runs        {args.runs} x {args.tasks} tasks, {args.repeat} passes each")
    print(f"direct      {direct:8.2f} s  {args.runs / direct:8.1f} runs/s")
    print(f"digesting   {digesting:8.2f} s  {args.runs / digesting:8.1f} runs/s")
    print(f"ratio       {digesting / direct:8.2f}x")


if __name__ == "__main__":
    main()
