"""A full rebuild written offline: CSV files, Neo4j's own bulk importer, and a swap.

``lineage graph sync --full --offline HOME`` builds the same projection as an online
full sync (``lineage.graph.sync``), but never through Cypher writes:

1. it reads the store page by page, as a full sync does, and writes every node and
   edge to CSV files; the task references, the reach index's shortcuts and the level
   index's edge keys are computed in Python from the same facts (``bulk.Facts``) and
   written to the files too;
2. ``neo4j-admin database import full`` (``tools/neo4j/admin``, the launcher's own
   jars) builds a fresh database from them in ``HOME/import-staging``, which is renamed
   to ``HOME/import-ready`` once the import has succeeded;
3. the launcher serving ``HOME`` (``tools/neo4j/run HOME PORT``) swaps that database in
   for its default one: the old projection answers until then; the server restarts in
   place, on the same port (``tools/neo4j/Launcher.java``);
4. once the new database answers (it carries a one-off token in its ``SyncState``),
   the constraints and indexes are built, the few dense nodes are marked, and the
   watermark is completed.

A sync stopped before step 3 leaves the old projection serving and nothing to swap
(a half-written staging directory is removed by the next run). One stopped after it
leaves a projection without ``SyncState.levels``: the next incremental sync then
settles the level index over the whole projection, and its ``ensure_schema`` builds
any index still missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lineage.errors import ConfigError, StoreError, UnavailableError
from lineage.graph import level_index, reach_index
from lineage.graph import rows as texts
from lineage.graph.bulk import Facts
from lineage.graph.connect import Graph
from lineage.graph.offline_csv import CsvFiles
from lineage.graph.scan import PAGE, scan
from lineage.graph.sync import SyncReport, ensure_schema
from lineage.store.rows import MlmdRows

READY = "import-ready"  # the directory the launcher swaps in (tools/neo4j/Launcher.java)
STAGING = "import-staging"
CSV_DIR = "import-csv"
SWAP_TIMEOUT_S = 600.0  # a large database takes a while to start
INDEX_TIMEOUT_S = 3600  # populating the indexes of a large projection
ADMIN = Path(__file__).resolve().parents[2] / "tools" / "neo4j" / "admin"


@dataclass
class Exported:
    """What the CSV files hold, for the import and the report."""

    files: CsvFiles
    nodes: int
    edges: int  # the store's edges, as an online full sync counts them
    batches: int
    watermark_ms: int
    dense_out: list[str]
    dense_in: list[str]
    parallel_out: list[str]
    parallel_in: list[str]


def export(rows: MlmdRows, folder: Path, store_location: str, token: str, page: int) -> Exported:
    """Write the whole projection of the store as CSV files in ``folder``."""
    facts = Facts()
    files = CsvFiles(folder)
    edges: list[tuple[str, int, int, str | None]] = []
    present: set[int] = set()
    nodes = store_edges = batches = watermark = 0
    for batch in scan(rows, None, page):
        facts.add(batch)
        for node in batch.nodes:
            files.node(node)
            present.add(facts.ids[node.id])
        for edge in batch.edges:
            edges.append(
                (edge.kind.value, facts.ids[edge.source], facts.ids[edge.target], edge.key)
            )
        nodes += len(batch.nodes)
        store_edges += len(batch.edges)
        batches += 1
        watermark = max(watermark, batch.updated_ms)
    for kind, a, b in facts.reference_edges():
        facts.edge(kind, a, b)  # data flow (CACHED_FROM) and degrees, before the closure
        edges.append((kind.value, a, b, None))
    dense_out = {i for i, n in facts.out_degree.items() if n >= level_index.DENSE}
    dense_in = {i for i, n in facts.in_degree.items() if n >= level_index.DENSE}
    pairs: Counter[tuple[int, int]] = Counter()
    for rel_type, a, b, key in edges:
        if a not in present or b not in present:
            continue  # an online sync's MATCH finds no end, and writes nothing
        keyed = a in dense_out or b in dense_in
        if keyed:
            pairs[(a, b)] += 1
        ends = (facts.names[a], facts.names[b]) if keyed else (None, None)
        files.edge(rel_type, facts.names[a], facts.names[b], key, *ends)
    for rel, shortcut_pairs in facts.shortcuts().items():
        for source, target in shortcut_pairs:
            files.edge(rel, source, target, None, None, None)
    files.state(_state(store_location, watermark, token))
    files.close()
    twice = [p for p, n in pairs.items() if n > 1]
    return Exported(
        files,
        nodes,
        store_edges,
        batches,
        watermark,
        sorted(facts.names[i] for i in dense_out),
        sorted(facts.names[i] for i in dense_in),
        sorted({facts.names[a] for a, _ in twice if a in dense_out}),
        sorted({facts.names[b] for _, b in twice if b in dense_in}),
    )


def _state(store_location: str, watermark: int, token: str) -> dict[str, object]:
    # No levels field yet: the dense nodes are marked after the swap (step 4), and a
    # projection without it gets its level index settled by the next sync.
    return {
        "key": reach_index.STATE_KEY,
        "watermark_ms": watermark,
        "store": store_location,
        "index": reach_index.VERSION,
        texts.STATE_FIELD: texts.VERSION,
        "import_token": token,
    }


def admin_command() -> list[str]:
    """``neo4j-admin`` for a home of its own: LINEAGE_NEO4J_ADMIN, else the repository's
    ``tools/neo4j/admin``."""
    configured = os.environ.get("LINEAGE_NEO4J_ADMIN")
    if configured:
        return configured.split()
    if not ADMIN.is_file():
        raise ConfigError(
            f"no neo4j-admin for an offline sync: {ADMIN} is missing; set LINEAGE_NEO4J_ADMIN"
        )
    return [str(ADMIN)]


def run_import(home: Path, exported: Exported, admin: Sequence[str]) -> None:
    """Build the database from the files in ``HOME/import-staging``, then rename it to
    ``HOME/import-ready`` (the launcher swaps in only a finished import)."""
    staging = home / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    argv = [
        *admin,
        str(staging),
        "database",
        "import",
        "full",
        *exported.files.arguments(),
        f"--report-file={staging / 'import.report'}",
        "--overwrite-destination=true",
        "neo4j",
    ]
    log = home / "import.log"
    with log.open("w") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        shutil.rmtree(staging, ignore_errors=True)
        raise StoreError(
            f"neo4j-admin database import failed (exit {done.returncode}, log {log}): {tail[0]}"
        )
    shutil.rmtree(home / READY, ignore_errors=True)  # an earlier import never picked up
    staging.rename(home / READY)


def wait_swapped(graph: Graph, home: Path, token: str, timeout_s: float) -> None:
    """Wait until Neo4j answers from the imported database; on timeout, withdraw it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            records = graph.run(
                "MATCH (s:SyncState {key: $key}) RETURN s.import_token AS token",
                "waiting for the imported projection",
                key=reach_index.STATE_KEY,
            )
            if records and records[0]["token"] == token:
                return
        except UnavailableError:
            pass  # restarting onto the new files
        time.sleep(0.2)
    withdrawn = home / f"{READY}.withdrawn"
    try:
        (home / READY).rename(withdrawn)
        shutil.rmtree(withdrawn, ignore_errors=True)
    except OSError:
        pass  # the launcher took it meanwhile
    raise UnavailableError(
        f"Neo4j at {graph.uri} did not swap in the projection imported into {home} within "
        f"{timeout_s:.0f} s: is it served by `tools/neo4j/run {home} PORT`?"
    )


def finish(graph: Graph, exported: Exported) -> None:
    """On the swapped-in database: the schema, the dense nodes' marks, the watermark."""
    graph.schema_ready = False  # a new database: none of its indexes exist yet
    ensure_schema(graph)
    graph.run_long(f"CALL db.awaitIndexes({INDEX_TIMEOUT_S})", "building the indexes")
    marks = (
        ("LevelOut", None, exported.dense_out),
        ("LevelIn", None, exported.dense_in),
        (None, "lvl_out_par", exported.parallel_out),
        (None, "lvl_in_par", exported.parallel_in),
    )
    for label, flag, ids in marks:
        if ids:
            change = f"a:{label}" if label else f"a.{flag} = true"
            graph.run_long(
                f"UNWIND $ids AS id MATCH (a:Node {{id: id}}) SET {change}",
                "marking dense nodes",
                ids=ids,
            )
    graph.run_long(
        f"MATCH (s:SyncState {{key: $key}}) SET s.{level_index.STATE_FIELD} = $levels, "
        "s.synced_at_ms = timestamp() REMOVE s.import_token",
        "saving the watermark",
        key=reach_index.STATE_KEY,
        levels=level_index.VERSION,
    )


def sync_offline(
    graph: Graph,
    rows: MlmdRows,
    store_location: str,
    home: Path,
    page: int = PAGE,
    swap_timeout_s: float = SWAP_TIMEOUT_S,
) -> SyncReport:
    """Rebuild the projection offline and have the launcher serving ``home`` swap it in."""
    started = time.monotonic()
    if not home.is_dir():
        raise ConfigError(f"no Neo4j home at {home} (the launcher's <homeDir>)")
    admin = admin_command()
    token = uuid.uuid4().hex
    folder = home / CSV_DIR
    shutil.rmtree(folder, ignore_errors=True)
    try:
        exported = export(rows, folder, store_location, token, page)
        run_import(home, exported, admin)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    wait_swapped(graph, home, token, swap_timeout_s)
    finish(graph, exported)
    report = SyncReport(
        full=True,
        since_ms=None,
        watermark_ms=exported.watermark_ms,
        nodes=exported.nodes,
        edges=exported.edges,
        batches=exported.batches,
    )
    report.seconds = time.monotonic() - started
    return report
