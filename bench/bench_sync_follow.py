"""`lineage graph sync --follow`: from an ingest's commit to the run visible in Neo4j.

Run: .venv/bin/python bench/bench_sync_follow.py [--runs 2000] [--samples 20]
     [--interval 0.2] [--dir /dev/shm/sync-follow] [--offline] [--neo4j-opts "-Xmx2g ..."]

A store of bench/gen.py's runs is built in ``--dir`` (kept and reused), one Neo4j (the
tests' launcher) is started and the store synced in full (``--offline``: by the offline
full sync, ``lineage.graph.offline``). Then ``lineage graph sync
--follow`` runs as its own process while this one ingests ``--samples`` more runs, one
at a time: the clock starts when ``put_run`` returns (the ingest committed) and stops
when the run's node is found in Neo4j (polled every 5 ms). The target is 1 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402

from lineage import model  # noqa: E402
from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.offline import sync_offline  # noqa: E402
from lineage.graph.sync import sync  # noqa: E402
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402
from tests.services import Neo4jService  # noqa: E402


def visible(graph: Graph, node_id: str) -> bool:
    records = graph.run("MATCH (n:Node {id: $id}) RETURN count(n) AS n", "polling", id=node_id)
    return bool(records and records[0]["n"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/sync-follow"))
    parser.add_argument(
        "--offline", action="store_true", help="project the store with `sync --full --offline`"
    )
    parser.add_argument(
        "--neo4j-opts",
        default="",
        help="JVM options of the Neo4j launcher, e.g. a larger heap and page cache for 1M nodes",
    )
    args = parser.parse_args()
    if args.neo4j_opts:
        os.environ["LINEAGE_NEO4J_OPTS"] = args.neo4j_opts
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"mlmd-{args.runs}.sqlite"
    shape = gen.Shape(args.runs + 100_000)  # room for the sampled runs after the store's
    store = open_sqlite(path)
    marker = args.dir / f"built-{args.runs}"
    if not marker.exists():
        for index in range(args.runs):
            store.put_run(gen.run_record(shape, index))
        marker.write_text("built\n")
    # Runs sampled by an earlier invocation are in the store already: start after them.
    sampled = args.dir / f"sampled-{args.runs}"
    first = args.runs + (int(sampled.read_text()) if sampled.exists() else 0)
    latencies: list[float] = []
    with Neo4jService() as neo4j:
        graph = Graph(neo4j.bolt_uri)
        if args.offline:
            full = sync_offline(graph, rows_for(store), store.location, neo4j.home / "server")
        else:
            full = sync(graph, rows_for(store), store.location, full=True)
        print(
            f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}, "
            f"{os.uname().nodename}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
            f"store: {full.nodes} nodes, {full.edges} edges (full sync {full.seconds:.0f} s)",
            flush=True,
        )
        env = {
            **os.environ,
            "LINEAGE_STORE__PATH": str(path),
            "LINEAGE_HOME": str(args.dir),
            "LINEAGE_NEO4J__URI": neo4j.bolt_uri,
        }
        argv = [sys.executable, "-m", "lineage.cli", "graph", "sync", "--follow"]
        follower = subprocess.Popen(
            [*argv, "--interval", str(args.interval)],
            env=env,
            stdout=subprocess.DEVNULL,
            cwd=args.dir,
        )
        try:
            time.sleep(5)  # its first (empty) incremental sync
            for i in range(args.samples):
                index = first + i
                record = gen.run_record(shape, index)
                store.put_run(record)
                committed = time.monotonic()
                run_id = model.run_id(shape.run_name(index))
                while not visible(graph, run_id):
                    if time.monotonic() - committed > 60:
                        raise SystemExit(f"run {run_id} not visible after 60 s")
                    time.sleep(0.005)
                latencies.append(time.monotonic() - committed)
                print(f"{run_id}: visible {latencies[-1] * 1000:.0f} ms after commit", flush=True)
                time.sleep(args.interval * 1.7)  # land at different points of the poll cycle
        finally:
            sampled.write_text(str(first - args.runs + len(latencies) + 1))
            follower.send_signal(signal.SIGTERM)
            follower.wait(60)
            graph.close()
            store.close()
    ordered = sorted(latencies)
    print(
        f"commit -> visible, {len(ordered)} runs, poll every {args.interval * 1000:.0f} ms: "
        f"median {statistics.median(ordered) * 1000:.0f} ms, "
        f"p90 {ordered[int(0.9 * (len(ordered) - 1))] * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms (load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
