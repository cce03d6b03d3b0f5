"""API benchmark, Neo4j reader: a 10,000-node lineage answer over HTTP at store scale.

Run: .venv/bin/python bench/bench_api_neo4j.py --home DIR --neo4j-home DIR [--samples 7]
     [--out bench/results/api_neo4j.md]

``--home`` is a LINEAGE_HOME whose mlmd.sqlite holds bench/gen.py runs (for example
the 100,000-run store bench/bench_lineage.py --reuse keeps in its --dir), and
``--neo4j-home`` the Neo4j database beside it. Neo4j is started (the benchmark JVM of
bench_lineage), brought up to date by an incremental sync, and the lineage
downstream of the hub dataset, cut at 10,000 nodes, is asked two ways, alternated:
directly on the Neo4j reader in this process (the anchor) and over HTTP through
``lineage serve`` configured with that Neo4j. The ratio is HTTP / direct.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402
from bench_api import FASTEST, NODES, served, serving  # noqa: E402
from bench_lineage import BenchNeo4j  # noqa: E402

from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.sync import sync  # noqa: E402
from lineage.model import (  # noqa: E402
    Direction,
)
from lineage.query.readers.neo4j.reader import Neo4jReader  # noqa: E402
from lineage.query.service import LineageService  # noqa: E402
from lineage.query.types import LineageQuery  # noqa: E402
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--neo4j-home", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=7)
    # Neo4j compiles a query's path over its first runs after a start; a server runs warm.
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_neo4j.md")
    args = parser.parse_args()
    started = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip()
    store = open_sqlite(args.home / "mlmd.sqlite")
    counts = store.counts()
    nodes = counts.contexts + counts.executions + counts.artifacts
    neo4j = BenchNeo4j(home=args.neo4j_home)
    neo4j.start()
    try:
        graph = Graph(neo4j.bolt_uri)
        print(sync(graph, rows_for(store), store.location, lookback_ms=0).summary(), flush=True)
        hub = gen.hub().id
        query = LineageQuery(start=hub, direction=Direction.DOWNSTREAM, depth=30, limit=NODES)
        service = LineageService(Neo4jReader(graph))
        env = {"LINEAGE_NEO4J__URI": neo4j.bolt_uri}
        with serving(args.home, 1, env) as url:
            direct, answer, http, size, parse = served(
                lambda: service.lineage(query), url, hub, args.samples, args.warmup
            )
        assert len(answer.nodes) == NODES
        graph.close()
    finally:
        neo4j.stop()  # keeps the database
        store.close()
    ms = 1000.0
    fast_direct, fast_http = FASTEST[0], FASTEST[1]
    verdict = "met" if http <= 0.3 else "not met"
    text = f"""# API benchmark: 10,000-node lineage over HTTP from the Neo4j reader

`.venv/bin/python bench/bench_api_neo4j.py --home {args.home} --neo4j-home {args.neo4j_home} \\
--samples {args.samples} --warmup {args.warmup}`

Measured {started} on this machine: `nproc` = {os.cpu_count()}, load average at start
{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.

```
{free}
```

Store: {nodes:,} nodes (MLMD SQLite, bench/gen.py runs) and its Neo4j projection
(Neo4j Community 5.26, tools/neo4j, 2 GB heap). The answer: the lineage downstream of
the hub dataset every run reads, depth 30, cut at 10,000 nodes (`limit: 10000`),
{size:,} bytes of JSON; `lineage serve` (one worker) with LINEAGE_NEO4J__URI set.
Medians of {args.samples} after {args.warmup} warm-up calls of each (Neo4j compiles a
query's path over its first runs after a start), direct and HTTP alternated. Over HTTP the
client keeps one connection (as GraphQL clients do) and an answer counts as served when
its last byte has arrived; the client's JSON parse, timed apart, takes {parse * ms:.0f} ms
(median, Python's json).

| path | median | fastest | ratio of medians |
| --- | ---: | ---: | ---: |
| Neo4j reader, directly in Python (anchor) | {direct * ms:.0f} ms | {fast_direct * ms:.0f} ms \
| 1.00 |
| over HTTP, `lineage serve`, Neo4j reader | **{http * ms:.0f} ms** | {fast_http * ms:.0f} ms \
| **{http / direct:.2f}** |

Target "a 10,000-node lineage answer served over HTTP in <= 300 ms": {verdict}
(median {http * ms:.0f} ms; the API's share, HTTP minus direct, {(http - direct) * ms:.0f} ms).
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"direct {direct * ms:.0f} ms, HTTP {http * ms:.0f} ms; wrote {args.out}")


if __name__ == "__main__":
    main()
