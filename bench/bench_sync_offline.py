"""The offline full sync (`graph sync --full --offline`) against its anchor, in one run.

Run: .venv/bin/python bench/bench_sync_offline.py [--runs 2000 | --store PATH]
     [--rounds 3] [--online] [--dir /dev/shm/sync-anchor]

The store is bench/gen.py's runs (built in ``--dir`` as bench_sync_anchor.py builds it),
or any MLMD SQLite file (``--store``). One Neo4j (the tests' launcher) serves both. The
anchor is bench_sync_anchor.py's: the store's nodes and edges, read beforehand, written
as plain ``UNWIND ... CREATE`` in batches of 10,000 into an emptied graph with the id
constraint. The offline sync is timed from its first read of the store to the end of its
work on the swapped-in database, every step included: reading the store, writing the CSV
files, neo4j-admin's import (a JVM of its own), the launcher's restart onto the new files,
building every constraint and index (``db.awaitIndexes``), marking the dense nodes and
saving the watermark. It writes what the online full sync writes (the task references,
the reach index, the level index's keys, the stored rows). ``--online`` times the online
full sync too. They alternate, ``--rounds`` times each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_sync_anchor import anchor, build, plain_rows  # noqa: E402

from lineage.graph import offline  # noqa: E402
from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.sync import ensure_schema, sync, wipe  # noqa: E402
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402
from tests.services import Neo4jService  # noqa: E402


def offline_sync(graph: Graph, path: Path, home: Path) -> tuple[float, dict[str, float]]:
    """``sync_offline``'s steps, each timed: seconds in all, and per step."""
    steps: dict[str, float] = {}
    store = open_sqlite(path)
    started = last = time.monotonic()

    def lap(name: str) -> None:
        nonlocal last
        now = time.monotonic()
        steps[name] = now - last
        last = now

    token = uuid.uuid4().hex
    folder = home / offline.CSV_DIR
    exported = offline.export(rows_for(store), folder, store.location, token, 10_000)
    lap("read + CSV")
    offline.run_import(home, exported, offline.admin_command())
    shutil.rmtree(folder)
    lap("import")
    offline.wait_swapped(graph, home, token, offline.SWAP_TIMEOUT_S)
    lap("swap")
    offline.finish(graph, exported)
    lap("indexes + marks")
    store.close()
    return time.monotonic() - started, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--online", action="store_true")
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/sync-anchor"))
    args = parser.parse_args()
    path = args.store
    if path is None:
        args.dir.mkdir(parents=True, exist_ok=True)
        path = args.dir / f"mlmd-{args.runs}.sqlite"
        build(path, args.runs)
    nodes, edges = plain_rows(path)
    count = sum(len(v) for v in nodes.values())
    print(
        f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}, "
        f"{os.uname().nodename}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"{path}: {count} nodes, {sum(len(v) for v in edges.values())} edges",
        flush=True,
    )
    rates: dict[str, list[float]] = {"anchor": [], "offline": [], "online": []}
    with Neo4jService() as neo4j:
        graph = Graph(neo4j.bolt_uri)
        home = neo4j.home / "server"
        try:
            for _ in range(args.rounds):
                wipe(graph)
                ensure_schema(graph)
                seconds = anchor(graph, nodes, edges)
                rates["anchor"].append(count / seconds)
                print(
                    f"anchor: {count} nodes in {seconds:.1f} s ({count / seconds:.0f} nodes/s), "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                seconds, steps = offline_sync(graph, path, home)
                rates["offline"].append(count / seconds)
                print(
                    f"offline: {count} nodes in {seconds:.1f} s ({count / seconds:.0f} nodes/s; "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items())
                    + f"), load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                if args.online:
                    store = open_sqlite(path)
                    wipe(graph)
                    report = sync(graph, rows_for(store), store.location, full=True)
                    store.close()
                    rates["online"].append(report.nodes_per_s)
                    print(f"online: {report.summary()}", flush=True)
        finally:
            graph.close()
    for name, values in rates.items():
        if values:
            print(
                f"{name}: median {statistics.median(values):.0f} nodes/s "
                f"({', '.join(f'{v:.0f}' for v in values)})"
            )
    base = statistics.median(rates["anchor"])
    for name in ("offline", "online"):
        if rates[name]:
            ratio = statistics.median(rates[name]) / base
            print(f"ratio {name}/anchor: {ratio:.2f} (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
