"""``lineage graph``: the Neo4j projection of the store (sync, verify)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from lineage.cli.common import handle_errors, load_settings, open_store, print_json
from lineage.errors import BadInputError, LineageError
from lineage.graph.connect import Graph
from lineage.store.rows import MlmdRows, rows_for
from lineage.wiring import open_graph

if TYPE_CHECKING:
    from lineage.graph.sync import SyncReport

app = typer.Typer(help="The Neo4j projection of the store: sync it, verify it.")


class GraphDiffersError(LineageError):
    """``graph verify`` found Neo4j out of step with the store."""

    exit_code = 8
    code = "CONFLICT"


@app.command("sync")
@handle_errors
def sync_cmd(
    full: bool = typer.Option(False, "--full", help="Empty Neo4j and project the whole store."),
    follow: bool = typer.Option(
        False,
        "--follow",
        help="Keep running: sync again whenever the store changes, until Ctrl-C or SIGTERM.",
    ),
    interval: float = typer.Option(
        0.2, "--interval", min=0.01, help="With --follow: seconds between polls of the store."
    ),
    offline: Path | None = typer.Option(
        None,
        "--offline",
        help="With --full: build the projection with neo4j-admin's bulk import into this "
        "Neo4j home (the launcher's, tools/neo4j/run HOME PORT), which swaps it in.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Project what the store recorded since the last sync (or everything, with --full)."""
    from lineage.graph.sync import sync

    if offline is not None and not full:
        raise BadInputError("--offline rebuilds the projection: it needs --full")

    settings = load_settings()

    def show(report: SyncReport) -> None:
        if as_json:
            print_json(report.as_dict())
        else:
            typer.echo(report.summary())

    with open_graph(settings) as graph, open_store(settings) as store:
        if offline is not None:
            from lineage.graph.offline import sync_offline

            show(sync_offline(graph, rows_for(store), store.location, offline))
        elif full or not follow:
            show(sync(graph, rows_for(store), store.location, full=full))
        if follow:
            _follow(graph, rows_for(store), store.location, interval, show)


def _follow(
    graph: Graph,
    rows: MlmdRows,
    location: str,
    interval: float,
    show: Callable[[SyncReport], None],
) -> None:
    """Run ``follow`` until SIGINT or SIGTERM; either ends it between two syncs, or
    after the running one (a sync cut short is harmless, but a finished one is kept)."""
    from lineage.graph.follow import follow

    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        follow(
            graph,
            rows,
            location,
            stop,
            show,
            lambda exc: typer.echo(f"warning: {exc}; trying again", err=True),
            interval_s=interval,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command("verify")
@handle_errors
def verify_cmd(
    sample: int = typer.Option(
        500, "--sample", min=0, help="Neo4j edges sampled to name those the store lacks."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Compare every node and edge, with its properties, with the store (and the counts
    by kind, the reach and level indexes); exit 8 naming the repair when they differ."""
    from lineage.graph.verify import verify

    settings = load_settings()
    with open_graph(settings) as graph, open_store(settings) as store:
        report = verify(graph, rows_for(store), sample=sample)
    if as_json:
        print_json(report.as_dict())
    else:
        for kind, (a, b) in sorted(report.nodes.items()):
            typer.echo(f"nodes {kind:<16} store {a:>9}  neo4j {b:>9}")
        for kind, (a, b) in sorted(report.edges.items()):
            typer.echo(f"edges {kind:<16} store {a:>9}  neo4j {b:>9}")
        typer.echo(
            f"compared: {report.compared.nodes_checked} nodes, "
            f"{report.compared.edges_checked} edges"
        )
    if not report.ok:
        first = report.differences()
        raise GraphDiffersError(
            f"Neo4j differs from the store ({len(first)} differences; first: {first[0]}); "
            + report.advice()
        )
