"""A full `graph sync` against its anchor, plain `UNWIND ... CREATE` writes, in one run.

Run: .venv/bin/python bench/bench_sync_anchor.py [--runs 2000] [--rounds 3]
     [--dir /dev/shm/sync-anchor]

One store of bench/gen.py's runs is built in ``--dir`` (kept and reused) and one Neo4j
(the tests' launcher) is started. The anchor writes the same nodes and edges the sync
writes (read from the store once, beforehand), in batches of 10,000 rows of one kind,
``UNWIND $rows AS r CREATE ...``, with the id constraint in place: the writes and
nothing else. The sync is ``lineage.graph.sync.sync(full=True)`` as the CLI runs it:
reading the store, the writes, the task references, the reach index, the level index
and the stored rows. Both start from an emptied graph (emptied before the clock
starts; the sync's own emptying then finds nothing, and is timed apart, below), and
they alternate, ``--rounds`` times each, so load on the shared machine falls on both
alike. Prints nodes/s per round, the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402
import neo4j  # noqa: E402

from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.scan import scan  # noqa: E402
from lineage.graph.sync import ensure_schema, sync, wipe  # noqa: E402
from lineage.store import row_rules  # noqa: E402
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402
from tests.services import Neo4jService  # noqa: E402

BATCH = 10_000


def build(path: Path, runs: int) -> None:
    marker = path.parent / f"built-{runs}"
    if marker.exists():
        return
    store = open_sqlite(path)
    for record in gen.records(gen.Shape(runs)):
        store.put_run(record)
    store.close()
    marker.write_text(f"{runs} runs\n")


def plain_rows(path: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[Any]]]:
    """The nodes (properties by label) and edges (by kind) a full sync writes."""
    store = open_sqlite(path)
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    edges: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for batch in scan(rows_for(store)):
        for node in batch.nodes:
            nodes[node.kind.value].append(row_rules.to_row(node))
        for edge in batch.edges:
            edges[edge.kind.value].append({"s": edge.source, "t": edge.target, "k": edge.key})
    store.close()
    return nodes, edges


def anchor(graph: Graph, nodes: dict[str, list[Any]], edges: dict[str, list[Any]]) -> float:
    """Seconds to write them with plain creates, 10,000 rows per transaction."""
    started = time.monotonic()
    for label, rows in nodes.items():
        create = f"UNWIND $rows AS r CREATE (n:Node:{label}) SET n = r"
        for i in range(0, len(rows), BATCH):
            graph.write(_writing(create, rows[i : i + BATCH]), "anchor nodes")
    for kind, rows in edges.items():
        create = (
            "UNWIND $rows AS r MATCH (a:Node {id: r.s}) MATCH (b:Node {id: r.t}) "
            f"CREATE (a)-[:{kind} {{key: r.k}}]->(b)"
        )
        for i in range(0, len(rows), BATCH):
            graph.write(_writing(create, rows[i : i + BATCH]), "anchor edges")
    return time.monotonic() - started


def _writing(cypher: str, rows: list[Any]) -> Callable[[neo4j.ManagedTransaction], None]:
    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run(cypher, rows=rows).consume()

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/sync-anchor"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"mlmd-{args.runs}.sqlite"
    build(path, args.runs)
    nodes, edges = plain_rows(path)
    count = sum(len(v) for v in nodes.values())
    print(
        f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}, "
        f"{os.uname().nodename}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"{args.runs} runs: {count} nodes, {sum(len(v) for v in edges.values())} edges",
        flush=True,
    )
    rates: dict[str, list[float]] = {"anchor": [], "sync --full": []}
    with Neo4jService() as neo4j:
        graph = Graph(neo4j.bolt_uri)
        ensure_schema(graph)
        store = open_sqlite(path)
        try:
            for _ in range(args.rounds):
                started = time.monotonic()
                wipe(graph)
                emptied = time.monotonic() - started
                seconds = anchor(graph, nodes, edges)
                rates["anchor"].append(count / seconds)
                print(
                    f"anchor: {count} nodes in {seconds:.1f} s ({count / seconds:.0f} nodes/s); "
                    f"emptying the previous graph took {emptied:.1f} s, load "
                    f"{os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                wipe(graph)
                report = sync(graph, rows_for(store), store.location, full=True)
                rates["sync --full"].append(report.nodes_per_s)
                print(f"sync --full: {report.summary()}", flush=True)
        finally:
            store.close()
            graph.close()
    for name, values in rates.items():
        print(
            f"{name}: median {statistics.median(values):.0f} nodes/s "
            f"({', '.join(f'{v:.0f}' for v in values)})"
        )
    ratio = statistics.median(rates["sync --full"]) / statistics.median(rates["anchor"])
    print(f"ratio sync/anchor: {ratio:.2f} (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
