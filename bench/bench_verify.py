"""`graph verify` time on a store of bench/gen.py's runs, against the full sync of it.

Run: .venv/bin/python bench/bench_verify.py [--runs 10000] [--rounds 2]
     [--dir /dev/shm/verify-bench]

One store is built in ``--dir`` (kept and reused) and one Neo4j is started; each round
syncs the store in full (the anchor: the same store, Neo4j and machine) and then
verifies it, every node and edge with its properties. Prints seconds for both, nodes
and edges checked, and the ratio verify / sync.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402

from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.sync import sync  # noqa: E402
from lineage.graph.verify import verify  # noqa: E402
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402
from tests.services import Neo4jService  # noqa: E402


def build(path: Path, runs: int) -> None:
    marker = path.parent / f"built-{runs}"
    if marker.exists():
        return
    store = open_sqlite(path)
    for record in gen.records(gen.Shape(runs)):
        store.put_run(record)
    store.close()
    marker.write_text(f"{runs} runs\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/verify-bench"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "mlmd.sqlite"
    began = time.perf_counter()
    build(path, args.runs)
    print(f"store of {args.runs} runs ready in {time.perf_counter() - began:.0f} s", flush=True)
    print(
        f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}, "
        f"nproc {os.cpu_count()}, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    neo4j = Neo4jService()
    neo4j.start()
    ratios: list[float] = []
    try:
        for _ in range(args.rounds):
            store = open_sqlite(path)
            graph = Graph(neo4j.bolt_uri)
            try:
                synced = sync(graph, rows_for(store), store.location, full=True)
                start = time.perf_counter()
                report = verify(graph, rows_for(store))
                seconds = time.perf_counter() - start
            finally:
                graph.close()
                store.close()
            assert report.ok, report.differences()
            ratios.append(seconds / synced.seconds)
            print(
                f"sync --full {synced.nodes} nodes in {synced.seconds:.1f} s; verify "
                f"{report.compared.nodes_checked} nodes, {report.compared.edges_checked} edges "
                f"in {seconds:.1f} s ({seconds / synced.seconds:.2f} of the sync), "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        neo4j.stop()
    print(f"verify / sync: median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
