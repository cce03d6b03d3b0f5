"""``lineage lineage``, ``lineage impact``, ``lineage diff``, ``lineage path``: the questions."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli.common import handle_errors, load_settings, print_json
from lineage.errors import BadInputError, NotFoundError
from lineage.model import Direction, LineageNode, NodeKind
from lineage.query.jsonify import as_json
from lineage.query.service import LineageService
from lineage.query.types import (
    DEFAULT_DEPTH,
    DEFAULT_LIMIT,
    DEFAULT_PAGE,
    ImpactQuery,
    LineageQuery,
)
from lineage.wiring import Backend, open_service

BACKEND = typer.Option(
    Backend.AUTO, "--backend", help="auto: Neo4j when configured and up, else MLMD."
)
AS_OF = typer.Option(
    None, "--as-of", help="Only what was recorded by then: epoch ms or an ISO 8601 time."
)
JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _notice(message: str) -> None:
    typer.secho(f"note: {message}", fg=typer.colors.YELLOW, err=True)


def parse_as_of(text: str | None) -> int | None:
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInputError(f"--as-of takes epoch milliseconds or ISO 8601, got {text!r}") from exc
    if moment.tzinfo is None:
        raise BadInputError(f"--as-of {text!r} needs a time zone (e.g. Z or +00:00)")
    return int(moment.timestamp() * 1000)


def _service(backend: Backend) -> AbstractContextManager[LineageService]:
    return open_service(load_settings(), backend, _notice)


def _nodes_table(title: str, nodes: tuple[LineageNode, ...]) -> Table:
    table = Table(title=title)
    for column in ("kind", "id", "name", "type", "state"):
        table.add_column(column, overflow="fold")
    for node in nodes:
        table.add_row(node.kind.value, node.id, node.name, node.type, node.state or "")
    return table


@handle_errors
def lineage(
    node_id: str = typer.Argument(..., metavar="ID", help="Any node id (artifact, task, run...)."),
    upstream: bool = typer.Option(False, "--upstream", help="What went into it (the default)."),
    downstream: bool = typer.Option(False, "--downstream", help="What it fed."),
    both: bool = typer.Option(False, "--both", help="Upstream and downstream."),
    depth: int = typer.Option(DEFAULT_DEPTH, "--depth", help="Edges to walk (0-1000)."),
    limit: int = typer.Option(DEFAULT_LIMIT, "--limit", help="Most nodes to return."),
    kind: list[NodeKind] = typer.Option([], "--kind", help="Return only these node kinds."),
    stop_at: list[NodeKind] = typer.Option([], "--stop-at", help="Do not walk past these."),
    as_of: str | None = AS_OF,
    backend: Backend = BACKEND,
    json_out: bool = JSON,
) -> None:
    """Walk the lineage of a node, upstream by default."""
    if sum((upstream, downstream, both)) > 1:
        raise BadInputError("choose one of --upstream, --downstream, --both")
    direction = (
        Direction.DOWNSTREAM if downstream else Direction.BOTH if both else Direction.UPSTREAM
    )
    query = LineageQuery(
        node_id,
        direction,
        depth,
        kinds=frozenset(kind) or None,
        stop_at=frozenset(stop_at),
        limit=limit,
        as_of_ms=parse_as_of(as_of),
    )
    with _service(backend) as service:
        answer = service.lineage(query)
        used = service.backend
    if json_out:
        print_json({"backend": used, **as_json(answer)})
        return
    console = Console()
    console.print(_nodes_table(f"{direction.value.lower()} of {node_id}", answer.nodes))
    for edge in answer.edges:
        key = f" [{edge.key}]" if edge.key else ""
        console.print(
            f"{edge.source} -{edge.kind.value}{key}-> {edge.target}", highlight=False, markup=False
        )
    if answer.truncated:
        console.print(
            f"truncated by {answer.truncated_by} at depth {answer.depth_reached}: "
            f"{answer.nodes_seen} nodes seen, {len(answer.nodes)} returned; "
            f"not walked past: {', '.join(answer.frontier[:10])}",
            style="yellow",
            highlight=False,
        )


@handle_errors
def impact(
    image: str | None = typer.Option(None, "--image", help="An image digest (or id prefix)."),
    artifact: str | None = typer.Option(None, "--artifact", help="An artifact id."),
    snapshot: str | None = typer.Option(None, "--snapshot", help="A snapshot id."),
    first: int = typer.Option(DEFAULT_PAGE, "--first", help="Models and runs per page."),
    after: str | None = typer.Option(None, "--after", help="The cursor of the previous page."),
    as_of: str | None = AS_OF,
    backend: Backend = BACKEND,
    json_out: bool = JSON,
) -> None:
    """Every model and run downstream of an image, an artifact or a snapshot."""
    query = ImpactQuery(image, artifact, snapshot, first, after, parse_as_of(as_of))
    with _service(backend) as service:
        answer = service.impact(query)
        used = service.backend
    if json_out:
        print_json({"backend": used, **as_json(answer)})
        return
    console = Console()
    console.print(_nodes_table(f"models ({answer.total_models} in all)", answer.models))
    console.print(_nodes_table(f"runs ({answer.total_runs} in all)", answer.runs))
    if answer.cursor:
        console.print(f"next page: --after {answer.cursor}", highlight=False)
    if answer.truncated:
        console.print("truncated: the walk hit its node budget; totals are lower bounds")


@handle_errors
def diff(
    a: str = typer.Argument(..., help="The first model artifact id."),
    b: str = typer.Argument(..., help="The second model artifact id."),
    as_of: str | None = AS_OF,
    backend: Backend = BACKEND,
    json_out: bool = JSON,
) -> None:
    """What differs upstream of two models: data, snapshots, parameters, images, sources,
    spec, run."""
    with _service(backend) as service:
        answer = service.diff(a, b, parse_as_of(as_of))
        used = service.backend
    if json_out:
        print_json({"backend": used, **as_json(answer)})
        return
    if answer.same:
        typer.echo("no difference upstream")
    table = Table()
    for column in ("category", "key", "change", a, b):
        table.add_column(column, overflow="fold")
    for entry in answer.entries:
        table.add_row(
            entry.category.value,
            entry.key,
            entry.change.value,
            entry.before or "",
            entry.after or "",
        )
    Console().print(table)


@handle_errors
def path(
    source: str = typer.Argument(..., help="Where the path starts."),
    target: str = typer.Argument(..., help="Where it ends."),
    backend: Backend = BACKEND,
    json_out: bool = JSON,
) -> None:
    """A shortest lineage path between two nodes (in either direction of the data flow)."""
    with _service(backend) as service:
        answer = service.path(source, target)
    if json_out:
        print_json(as_json(answer))
        return
    if not answer.found:
        raise NotFoundError(f"no lineage path between {source!r} and {target!r}")
    typer.echo(" -> ".join(n.id for n in answer.nodes))


def register(app: typer.Typer) -> None:
    for name, command in (("lineage", lineage), ("impact", impact), ("diff", diff), ("path", path)):
        app.command(name)(command)
