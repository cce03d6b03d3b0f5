"""One incremental sync of one new run, per phase, on stores of several sizes.

Run: .venv/bin/python bench/bench_sync_step.py --runs 2000 10000 [--new 3]
     [--dir /dev/shm/sync-step] [--neo4j-opts "-Xmx1500m"]

For each size, a store of bench/gen.py's runs is built in ``--dir`` (kept and reused),
projected by the offline full sync into a fresh Neo4j (the tests' launcher), synced
once incrementally (settling what the offline sync leaves), and then ``--new`` runs are
ingested one at a time, each followed by one incremental sync as ``--follow`` runs it.
Each sync is broken down by what it waited on: every MLMD read (by call) and every
Neo4j query (by its first words), with the rows each returned. A term that grows with
the store's size, not with the one run, is a scalability bug.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen  # noqa: E402
import neo4j  # noqa: E402

from lineage.graph.connect import Graph  # noqa: E402
from lineage.graph.follow import store_watermark  # noqa: E402
from lineage.graph.offline import sync_offline  # noqa: E402
from lineage.graph.sync import sync  # noqa: E402
from lineage.store.connect import open_sqlite  # noqa: E402
from lineage.store.row_scan import RowScan  # noqa: E402
from lineage.store.rows import rows_for  # noqa: E402
from tests.services import Neo4jService  # noqa: E402

Costs = dict[str, list[float]]  # label -> [seconds, calls, rows]


def _label(text: str) -> str:
    return " ".join(text.split())[:90]


@contextmanager
def timed(costs: Costs) -> Iterator[None]:
    """Time every MLMD bulk read and every Neo4j query until the block ends."""
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        saved.append((owner, name, original))
        setattr(owner, name, wrap(original))

    def add(label: str, seconds: float, rows: int) -> None:
        entry = costs.setdefault(label, [0.0, 0, 0])
        entry[0] += seconds
        entry[1] += 1
        entry[2] += rows

    def mlmd(name: str) -> Callable[[Any], Any]:
        def wrap(original: Any) -> Any:
            def call(self: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                out = original(self, *args, **kwargs)
                rows = len(out) if isinstance(out, list) else 0
                add(f"mlmd {name}", time.perf_counter() - started, rows)
                return out

            return call

        return wrap

    for name in ("listed", "by_rows", "_events", "parents", "attributions", "newest_update_ms"):
        if name == "_events":
            original = RowScan._events

            def events(fetch: Any, rows: Any, original: Any = original) -> Any:
                started = time.perf_counter()
                out = original(fetch, rows)
                add("mlmd events", time.perf_counter() - started, len(out))
                return out

            saved.append((RowScan, "_events", RowScan.__dict__["_events"]))
            RowScan._events = staticmethod(events)  # type: ignore[method-assign]
            continue
        patch(RowScan, name, mlmd(name))

    def tx_run(original: Any) -> Any:
        def call(self: Any, query: Any, parameters: Any = None, **kwargs: Any) -> Any:
            started = time.perf_counter()
            text = f"PROFILE {query}" if PROFILE else query
            result = original(self, text, parameters, **kwargs)
            records = list(result)  # the query's work, before the caller reads it
            # With --profile, the count is Neo4j's database hits, not rows: the work a
            # query did, whatever the machine's load.
            count = _hits(result.consume().profile) if PROFILE else len(records)
            add(f"neo4j {_label(str(query))}", time.perf_counter() - started, count)
            return _Replay(records, result)

        return call

    def graph_run(original: Any) -> Any:
        def call(self: Any, text: str, doing: str, **params: Any) -> Any:
            started = time.perf_counter()
            out = original(self, text, doing, **params)
            add(f"neo4j {_label(text)}", time.perf_counter() - started, len(out))
            return out

        return call

    patch(neo4j.ManagedTransaction, "run", tx_run)
    patch(Graph, "run", graph_run)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


PROFILE = False


def _hits(plan: Any) -> int:
    if not plan:
        return 0
    own = int(plan.get("dbHits", 0))
    return own + sum(_hits(child) for child in plan.get("children", []))


class _Replay:
    """A result already read: what ``single``/``consume`` give the sync's code."""

    def __init__(self, records: list[Any], result: Any) -> None:
        self.records, self.result = records, result
        self.summary = result.consume()

    def single(self) -> Any:
        return self.records[0] if self.records else None

    def consume(self) -> Any:
        return self.summary

    def __iter__(self) -> Iterator[Any]:
        return iter(self.records)


def build(path: Path, runs: int, shape: gen.Shape) -> None:
    marker = path.with_suffix(".built")
    if marker.exists():
        return
    store = open_sqlite(path)
    for index in range(runs):
        store.put_run(gen.run_record(shape, index))
    store.close()
    marker.write_text("built\n")


def measure(path: Path, runs: int, new: int, shape: gen.Shape) -> None:
    build(path, runs, shape)
    store = open_sqlite(path)
    with Neo4jService() as service:
        graph = Graph(service.bolt_uri)
        rows = rows_for(store)
        full = sync_offline(graph, rows, store.location, service.home / "server")
        seen: dict[Any, int] | None = {} if "seen" in inspect.signature(sync).parameters else None
        settle = sync(graph, rows, store.location, seen=seen)  # as --follow keeps it
        print(
            f"\n## {runs} runs: {full.nodes} nodes, offline sync {full.seconds:.0f} s, "
            f"first incremental {settle.seconds:.1f} s, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        done = (
            int(path.with_suffix(".sampled").read_text())
            if path.with_suffix(".sampled").exists()
            else 0
        )
        for i in range(new):
            index = runs + done + i
            path.with_suffix(".sampled").write_text(str(done + i + 1))
            store.put_run(gen.run_record(shape, index))
            time.sleep(0.05)
            costs: Costs = {}
            with timed(costs):
                started = time.perf_counter()
                store_watermark(rows)
                report = sync(graph, rows, store.location, seen=seen)
                total = time.perf_counter() - started
            print(
                f"run {index}: {total * 1000:.0f} ms, {report.nodes} nodes, {report.edges} "
                f"edges, {report.batches} batches (load {os.getloadavg()[0]:.1f})"
            )
            unit = "hits" if PROFILE else "rows"
            ranked = sorted(costs.items(), key=lambda c: -c[1][2 if PROFILE else 0])
            if PROFILE:
                hits = sum(int(c[2]) for label, c in costs.items() if label.startswith("neo4j"))
                print(f"  Neo4j database hits, all write queries: {hits}")
            for label, (seconds, calls, count) in ranked[:14]:
                print(f"  {seconds * 1000:8.1f} ms {calls:4d}x {count:7d} {unit}  {label}")
        graph.close()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--new", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/sync-step"))
    parser.add_argument("--neo4j-opts", default="")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="count Neo4j's database hits per query (PROFILE)"
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    if args.neo4j_opts:
        os.environ["LINEAGE_NEO4J_OPTS"] = args.neo4j_opts
    args.dir.mkdir(parents=True, exist_ok=True)
    for runs in args.runs:
        shape = gen.Shape(runs + 100_000)  # room for the new runs after the store's
        path = args.dir / f"mlmd-{runs}.sqlite"
        if args.build_only:
            build(path, runs, shape)
            continue
        measure(path, runs, args.new, shape)


if __name__ == "__main__":
    main()
