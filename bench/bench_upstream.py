"""Upstream lineage at depth 10 through Neo4j against the Bolt round trip, interleaved.

Run: .venv/bin/python bench/bench_upstream.py --neo4j-home DIR [--runs 100000] [--starts 200]

``--neo4j-home`` holds a projection of bench/gen.py runs (the one bench_lineage.py
--reuse keeps in its --dir). Each sample asks the upstream lineage of a chain-end
model (depth 10, the service's full walk) and then ``RETURN 1``, so machine noise
falls on both alike; two passes over ``--starts`` distinct models after a warm-up.
Prints p50/p90/p99 of each: the lineage target is p50 <= 10 ms, p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402
from bench_lineage import BenchNeo4j  # noqa: E402

from lineage.graph.connect import Graph  # noqa: E402
from lineage.model import (  # noqa: E402
    Direction,
)
from lineage.query.readers.neo4j.reader import Neo4jReader  # noqa: E402
from lineage.query.service import LineageService  # noqa: E402
from lineage.query.types import LineageQuery  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[int(p * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neo4j-home", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--starts", type=int, default=200)
    args = parser.parse_args()
    neo4j = BenchNeo4j(home=args.neo4j_home)
    neo4j.start()
    try:
        graph = Graph(neo4j.bolt_uri)
        service = LineageService(Neo4jReader(graph))
        shape = gen.Shape(args.runs, args.chain)
        chains = max(args.runs // args.chain, 1)
        queries = [
            LineageQuery(shape.model_id(shape.chain_end(c % chains)), Direction.UPSTREAM, 10)
            for c in range(args.starts)
        ]
        for query in queries * 2:  # warm-up: JIT, plans, page cache
            service.lineage(query)
        lineage, floor = [], []
        for query in queries * 2:
            started = time.perf_counter()
            service.lineage(query)
            lineage.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            graph.run("RETURN 1 AS one", "measuring a round trip")
            floor.append((time.perf_counter() - started) * 1000)
        graph.close()
    finally:
        neo4j.stop()
    for name, values in (("upstream depth 10", lineage), ("RETURN 1", floor)):
        cells = ", ".join(
            f"p{int(p * 100)} {percentile(values, p):.1f} ms" for p in (0.5, 0.9, 0.99)
        )
        print(f"{name}: {cells} ({len(values)} samples)")


if __name__ == "__main__":
    main()
