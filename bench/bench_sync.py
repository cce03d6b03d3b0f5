"""Sync throughput: a full `graph sync` of one store by this checkout and by another.

Run: .venv/bin/python bench/bench_sync.py --baseline DIR [--runs 2000] [--rounds 3]
     [--dir /dev/shm/sync-bench]

``--baseline`` is another checkout of this repository (for example
``git worktree add /tmp/baseline <commit>``): the anchor. One store of bench/gen.py's
runs is built in ``--dir`` (kept and reused), one Neo4j is started, and the two
checkouts sync it in full in turn, ``--rounds`` times each, every sync in a fresh
process, so load on the shared machine falls on both alike. Prints nodes/s per sync
and the medians; the first round warms Neo4j and counts like the others.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402

from lineage.store.connect import open_sqlite  # noqa: E402
from tests.services import Neo4jService  # noqa: E402

# Run in a fresh interpreter with the checkout first on the path: its own lineage package.
CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.store.rows import rows_for
from lineage.store.connect import open_sqlite
store = open_sqlite(Path(sys.argv[2]))
report = sync(Graph(sys.argv[3]), rows_for(store), store.location, full=True)
print(json.dumps({"nodes": report.nodes, "seconds": report.seconds}))
"""


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
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/sync-bench"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "mlmd.sqlite"
    build(path, args.runs)
    print(
        f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}, "
        f"load {os.getloadavg()[0]:.1f}, {args.runs} runs",
        flush=True,
    )
    neo4j = Neo4jService()
    neo4j.start()
    rates: dict[str, list[float]] = {"baseline": [], "this checkout": []}
    try:
        for _ in range(args.rounds):
            for name, root in (("baseline", args.baseline), ("this checkout", ROOT)):
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, str(root), str(path), neo4j.bolt_uri],
                    capture_output=True,
                    text=True,
                    cwd=args.dir,
                    check=True,
                )
                result = json.loads(done.stdout.strip().splitlines()[-1])
                rates[name].append(result["nodes"] / result["seconds"])
                print(f"{name}: {result['nodes']} nodes in {result['seconds']:.1f} s", flush=True)
    finally:
        neo4j.stop()
    for name, values in rates.items():
        print(
            f"{name}: median {statistics.median(values):.0f} nodes/s "
            f"({', '.join(f'{v:.0f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
