"""The ``lineage`` entry point: composes the command groups."""

from __future__ import annotations

import typer

from lineage import __version__
from lineage.cli import demo as demo_cli
from lineage.cli import graph as graph_cli
from lineage.cli import images as images_cli
from lineage.cli import (  # noqa: F401 - importing a module registers its ingest command
    ingest,
    ingest_kfp,
    ingest_mlmd,
    ingest_pods,
    ingest_spec,
    ingest_volumesnapshots,
    store,
)
from lineage.cli import query as query_cli
from lineage.cli import rebuild as rebuild_cli
from lineage.cli import run as run_cli
from lineage.cli import serve as serve_cli
from lineage.cli import snapshot as snapshot_cli
from lineage.cli import walks as walks_cli
from lineage.cli.common import handle_errors, load_settings

app = typer.Typer(
    name="lineage",
    help="Lineage and metadata for Kubeflow Pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(store.app, name="store")
app.add_typer(ingest.app, name="ingest")
app.command("run")(run_cli.run)
app.add_typer(images_cli.app, name="images")
app.add_typer(snapshot_cli.app, name="snapshot")
app.add_typer(graph_cli.app, name="graph")
walks_cli.register(app)  # lineage, impact, diff, path
serve_cli.register(app)  # serve, api export-schema
demo_cli.register(app)  # demo
query_cli.register(app)  # query (GraphQL)
app.add_typer(rebuild_cli.app, name="rebuild")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lineage {__version__}")
        raise typer.Exit()


# The commands that hand the store to a server, whose start-up failures would reach
# the terminal as the server's traceback: the store's directory is checked before.
_SERVING = frozenset({"serve", "demo"})


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Settings come from LINEAGE_* environment variables (see README)."""
    if ctx.invoked_subcommand in _SERVING:
        handle_errors(_check_home)()


def _check_home() -> None:
    from lineage.settings import SqliteStoreConfig
    from lineage.store.connect import check_sqlite_home

    settings = load_settings()
    if isinstance(settings.store, SqliteStoreConfig):
        check_sqlite_home(settings.sqlite_path())


def main() -> None:
    app()
