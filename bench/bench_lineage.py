"""Lineage benchmark: ingest, projection, lineage and impact latency, both readers vs MLMD.

Run: .venv/bin/python bench/bench_lineage.py [--sizes 2000,20000] [--samples 30]
     [--dir /dev/shm/lineage-bench] [--out bench/results/lineage.md] [--reuse]

With --reuse the store and the Neo4j database in --dir are kept after the run and
grown (not rebuilt) by the next one, so a 20,000-run store is generated once.

For each size (runs of bench/gen.py's four-task pipeline, grown in one store):
- MLMD ingest throughput (store.put_run, runs/s and nodes/s);
- the Neo4j projection rate (nodes/s), full at the first size, incremental after;
- upstream lineage from chain-end models at depths 1, 5, 10, 25, 50: p50/p99 for
  the Neo4j reader, the MLMD reader, and MLMD's own get_lineage_subgraph asked the
  same question (starting artifact, max_num_hops = depth, UPSTREAM), with ratios;
- impact from the hub dataset (read by every run): the count, and the first page of 100.
Neo4j is started with tests/services/'s Neo4jService in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.sync import sync  # noqa: E402
from lineage.model import Direction, KfpType  # noqa: E402
from lineage.query.readers.mlmd.reader import MlmdReader  # noqa: E402
from lineage.query.readers.neo4j.reader import Neo4jReader  # noqa: E402
from lineage.query.service import LineageService  # noqa: E402
from lineage.query.types import (  # noqa: E402
    MAX_LIMIT,
    ImpactQuery,
    LineageQuery,
)
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.mlmd import MlmdStore  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402
from tests.services import Neo4jService  # noqa: E402

DEPTHS = (1, 5, 10, 25, 50)
LAUNCHER = ROOT / "tools" / "neo4j"


PAGECACHE_MB = 3072  # holds the 1M-node store (about 1 GB with the reach index) whole
TXMEMORY_MB = 1536  # Neo4j's default cap is 70% of the heap; the test servers' is 384 MB


class BenchNeo4j(Neo4jService):
    """The test Neo4j (same launcher, same embedded server), with a JVM sized for a
    benchmark: a 2 GB heap, a page cache that holds the store, and the optimising JIT,
    which the test flags turn off to start faster."""

    def _start(self) -> None:
        if not (LAUNCHER / "target" / "classpath.txt").exists():
            super()._start()  # let tools/neo4j/run resolve the jars first
            self.stop()
        classpath = (LAUNCHER / "target" / "classpath.txt").read_text().strip()
        java = [
            "java",
            "-Xms2g",
            "-Xmx2g",
            "-XX:+UseParallelGC",
            f"-Dlineage.neo4j.pagecache.mb={PAGECACHE_MB}",
            f"-Dlineage.neo4j.txmemory.mb={TXMEMORY_MB}",
            "-cp",
            classpath,
            str(LAUNCHER / "Launcher.java"),
            str(self.home / "server"),
            str(self.port),
        ]
        proc = self._spawn(java)

        def connected() -> bool:
            with self.driver(connection_timeout=2.0) as driver:
                driver.verify_connectivity()
            return True

        proc.wait_ready(connected, self.timeout)


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)  # milliseconds

    def add(self, seconds: float) -> None:
        self.samples.append(seconds * 1000)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


@dataclass
class SizeResult:
    runs: int
    nodes: int = 0
    ingest_runs_per_s: float = 0.0
    ingest_nodes_per_s: float = 0.0
    ingested_runs: int = 0
    sync_kind: str = ""
    sync_nodes: int = 0
    sync_nodes_per_s: float = 0.0
    answer_sizes: dict[int, int] = field(default_factory=dict)
    lineage: dict[tuple[str, int], Timing] = field(default_factory=dict)
    impact: dict[str, Timing] = field(default_factory=dict)
    impact_models: int = 0
    impact_runs: int = 0


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def grow(store: MlmdStore, shape: gen.Shape, have: int, result: SizeResult) -> None:
    started = time.perf_counter()
    nodes = 0
    for record in gen.records(shape, have):
        store.put_run(record)
        nodes += len(record.executions) + len(record.artifacts) + 1
    took = time.perf_counter() - started
    result.ingested_runs = shape.runs - have
    if result.ingested_runs:
        result.ingest_runs_per_s = result.ingested_runs / took
        result.ingest_nodes_per_s = nodes / took


def stored_runs(store: MlmdStore) -> int:
    """How many bench runs a reused store already holds (runs are numbered from 0)."""
    return len(store.mlmd.get_contexts_by_type(KfpType.PIPELINE_RUN))


def subgraph_call(store: MlmdStore, node_id: str, depth: int) -> Callable[[], object]:
    options = pb.LineageSubgraphQueryOptions(
        max_num_hops=depth, direction=pb.LineageSubgraphQueryOptions.UPSTREAM
    )
    options.starting_artifacts.filter_query = f"external_id = '{node_id}'"
    # Only what our answer holds (no contexts, attributions): the leanest MLMD call.
    mask = ["artifacts", "executions", "events"]
    return lambda: store.mlmd.get_lineage_subgraph(options, field_mask_paths=mask)


def measure(
    store: MlmdStore,
    graph: Graph,
    shape: gen.Shape,
    samples: int,
    result: SizeResult,
    mlmd_impact_max: int,
) -> None:
    services = {
        "neo4j": LineageService(Neo4jReader(graph)),
        "mlmd": LineageService(MlmdReader(store)),
    }
    chains = max(shape.runs // shape.chain, 1)
    starts = [shape.model_id(shape.chain_end(c % chains)) for c in range(samples)]
    # Warm up first (JIT, query plans, page cache): the table is about steady state.
    # A freshly started Neo4j needs a few hundred queries before its JIT settles, so
    # the first size measured must not pay for it (later sizes reuse the warm JVM).
    for depth in DEPTHS:
        for start in starts * 3:
            services["neo4j"].lineage(
                LineageQuery(start, Direction.UPSTREAM, depth, limit=MAX_LIMIT)
            )
        for start in starts[:10]:
            services["mlmd"].lineage(
                LineageQuery(start, Direction.UPSTREAM, depth, limit=MAX_LIMIT)
            )
        for start in starts[:3]:
            subgraph_call(store, start, depth)()
    for depth in DEPTHS:
        for name, service in services.items():
            timing = Timing()
            for start in starts:
                query = LineageQuery(start, Direction.UPSTREAM, depth=depth, limit=MAX_LIMIT)
                took, answer = timed(lambda q=query, s=service: s.lineage(q))  # type: ignore[misc]
                timing.add(took)
                result.answer_sizes[depth] = len(answer.nodes)  # type: ignore[attr-defined]
            result.lineage[(name, depth)] = timing
        timing = Timing()
        for start in starts:
            took, graph_answer = timed(subgraph_call(store, start, depth))
            timing.add(took)
        size = len(graph_answer.artifacts) + len(graph_answer.executions)  # type: ignore[attr-defined]
        if size != result.answer_sizes[depth]:
            ours = result.answer_sizes[depth]
            print(f"  note: depth {depth}: MLMD subgraph {size} nodes, ours {ours}")
        result.lineage[("get_lineage_subgraph", depth)] = timing
        print(
            f"  depth {depth:>2}: "
            + ", ".join(
                f"{n} p50 {result.lineage[(n, depth)].p50:.1f} ms"
                for n in ("neo4j", "mlmd", "get_lineage_subgraph")
            ),
            flush=True,
        )
    # The API's heavy case: 10,000 nodes downstream of the hub (depth 30, cut by the limit).
    big = LineageQuery(gen.hub().id, Direction.DOWNSTREAM, depth=30, limit=10_000)
    answers = {}
    for name, service in services.items():
        service.lineage(big)  # warm
        timing = Timing()
        for _ in range(5):
            took, answers[name] = timed(lambda s=service: s.lineage(big))  # type: ignore[misc]
            timing.add(took)
        result.impact[f"{name} reader: 10,000-node lineage walk from the hub"] = timing
    assert answers["neo4j"] == answers["mlmd"], "the readers disagree on the 10,000-node walk"
    ping = Timing()
    for _ in range(samples):
        took, _ = timed(lambda: graph.run("RETURN 1 AS one", "measuring a round trip"))
        ping.add(took)
    result.impact["neo4j round trip floor (RETURN 1)"] = ping
    hub = gen.hub().id
    neo = services["neo4j"]
    count, first, bare = Timing(), Timing(), Timing()
    for _ in range(5):
        took, reach = timed(lambda: neo.reader.reach([hub], None, 10_000_000))
        count.add(took)
        took, page = timed(lambda: neo.impact(ImpactQuery(artifact=hub, first=100)))
        first.add(took)
    models_first = Timing()
    for _ in range(5):
        took, models_page = timed(
            lambda: neo.impact(ImpactQuery(artifact=hub, first=100, count_runs=False))
        )
        models_first.add(took)
    assert models_page.total_models == len(reach.models)  # type: ignore[attr-defined]
    result.impact["neo4j first 100 with the model total only (GraphQL totalCount)"] = models_first
    for _ in range(samples):
        took, bare_page = timed(
            lambda: neo.impact(ImpactQuery(artifact=hub, first=100, count=False))
        )
        bare.add(took)
    # The uncounted page must be the counted one, and the totals those of the full reach.
    assert page.total_models == len(reach.models)  # type: ignore[attr-defined]
    assert (page.models, page.runs, page.cursor) == (  # type: ignore[attr-defined]
        bare_page.models,  # type: ignore[attr-defined]
        bare_page.runs,  # type: ignore[attr-defined]
        bare_page.cursor,  # type: ignore[attr-defined]
    )
    result.impact_models = len(reach.models)  # type: ignore[attr-defined]
    result.impact_runs = len(reach.runs)  # type: ignore[attr-defined]
    models_only = Timing()
    for _ in range(5):
        took, _ = timed(
            lambda: graph.run(
                "MATCH (h:Node {id: $hub}) MATCH (h)-[:FEEDS_MODEL*1..]->(m) "
                "RETURN count(DISTINCT m) AS n",
                "counting models over the reach index",
                hub=hub,
            )
        )
        models_only.add(took)
    result.impact["neo4j reach (every downstream id, the count)"] = count
    result.impact["neo4j model count alone over the reach index (one Cypher query)"] = models_only
    result.impact["neo4j first 100 with totals"] = first
    result.impact["neo4j first 100 without totals (count=False)"] = bare
    if shape.runs <= mlmd_impact_max:  # a walk of the whole store: minutes at 20,000 runs
        mlmd_first = Timing()
        took, answer = timed(lambda: services["mlmd"].impact(ImpactQuery(artifact=hub, first=100)))
        mlmd_first.add(took)
        assert answer.total_models == result.impact_models  # type: ignore[attr-defined]
        result.impact["mlmd reader first 100 (1 try)"] = mlmd_first


def machine() -> str:
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True, check=False).stdout
    load = os.getloadavg()
    return (
        f"{platform.platform()}, Python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average at start {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
        f"\n\n```\n{mem.strip()}\n```"
    )


def report(results: list[SizeResult], args: argparse.Namespace, started: str, env: str) -> str:
    lines = [
        "# Lineage benchmark",
        "",
        f"Date: {started} (`date -u`). Machine: {env}",
        "",
        f"Command: `.venv/bin/python bench/bench_lineage.py --sizes {args.sizes} "
        f"--samples {args.samples}`; store on {args.dir} (MLMD SQLite); Neo4j Community 5.26 "
        "embedded by tools/neo4j/Launcher.java (heap 2 GB, "
        f"page cache {PAGECACHE_MB} MB, transaction memory {TXMEMORY_MB} MB, full JIT), "
        "on loopback.",
        "",
        "Shape (bench/gen.py): four-task runs (ingest, prep, train, eval) plus a root DAG, "
        f"a hub dataset read by every run, chains of {args.chain} runs (each train reads the "
        "previous model), five images. Lineage: upstream from chain-end models; "
        f"{args.samples} queries per cell. Ratios are MLMD get_lineage_subgraph time over ours "
        "(>1: we are faster), measured in the same run.",
        "",
        "## Ingest and projection",
        "",
        "| runs | nodes | MLMD ingest runs/s | MLMD ingest nodes/s | Neo4j sync | nodes/s |",
        "|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.runs} | {r.nodes} | {r.ingest_runs_per_s:.0f} ({r.ingested_runs} runs) | "
            f"{r.ingest_nodes_per_s:.0f} | {r.sync_kind} ({r.sync_nodes} nodes) | "
            f"{r.sync_nodes_per_s:.0f} |"
        )
    lines += ["", "## Upstream lineage latency (ms)", ""]
    lines += [
        "| runs | depth | answer nodes | Neo4j p50 | Neo4j p99 | MLMD reader p50 | MLMD reader p99 "
        "| get_lineage_subgraph p50 | p99 | subgraph/Neo4j (p50) | subgraph/MLMD reader (p50) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for d in DEPTHS:
            neo, ml, sub = (r.lineage[(n, d)] for n in ("neo4j", "mlmd", "get_lineage_subgraph"))
            lines.append(
                f"| {r.runs} | {d} | {r.answer_sizes[d]} | {neo.p50:.1f} | {neo.p99:.1f} | "
                f"{ml.p50:.1f} | {ml.p99:.1f} | {sub.p50:.1f} | {sub.p99:.1f} | "
                f"{sub.p50 / neo.p50:.1f}x | {sub.p50 / ml.p50:.1f}x |"
            )
    lines += ["", "## Impact from the hub dataset, and the Bolt round-trip floor (ms)", ""]
    lines += [
        "| runs | models | runs reached | measure | p50 | max |",
        "|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        for name, t in r.impact.items():
            lines.append(
                f"| {r.runs} | {r.impact_models} | {r.impact_runs} | {name} | {t.p50:.0f} | "
                f"{max(t.samples):.0f} |"
            )
    return "\n".join(lines) + "\n"


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so the finally block stops Neo4j


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument(
        "--mlmd-impact-max", type=int, default=2000, help="largest size to time MLMD impact at"
    )
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/lineage-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "lineage.md")
    parser.add_argument(
        "--reuse", action="store_true", help="keep --dir's store and graph, grow them, keep them"
    )
    args = parser.parse_args()
    started = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    env = machine()
    if not args.reuse:
        shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    store = open_sqlite(args.dir / "mlmd.sqlite")
    neo4j = BenchNeo4j(home=args.dir / "neo4j")
    results: list[SizeResult] = []
    try:
        neo4j.start()
        graph = Graph(neo4j.bolt_uri)
        have = stored_runs(store)
        for size in sizes:
            shape = gen.Shape(size, args.chain)
            result = SizeResult(size)
            print(f"{size} runs: ingest", flush=True)
            grow(store, shape, have, result)
            have = max(have, size)
            counts = store.counts()
            result.nodes = counts.contexts + counts.executions + counts.artifacts
            print(f"  {result.ingest_runs_per_s:.0f} runs/s; sync", flush=True)
            synced = sync(graph, rows_for(store), store.location, lookback_ms=0)
            result.sync_kind = "full" if synced.full else "incremental"
            result.sync_nodes, result.sync_nodes_per_s = synced.nodes, synced.nodes_per_s
            print(f"  {synced.summary()}", flush=True)
            measure(store, graph, shape, args.samples, result, args.mlmd_impact_max)
            results.append(result)
            args.out.write_text(report(results, args, started, env))
        graph.close()
    finally:
        if args.reuse:
            neo4j.stop()  # keeps the database for the next run
        else:
            neo4j.close()
        store.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
