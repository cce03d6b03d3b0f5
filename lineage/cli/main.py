"""The ``lineage`` entry point: composes the command groups."""

from __future__ import annotations

import typer

from lineage import __version__
from lineage.cli import store

app = typer.Typer(
    name="lineage",
    help="Lineage and metadata for Kubeflow Pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(store.app, name="store")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lineage {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Settings come from LINEAGE_* environment variables (see README)."""


def main() -> None:
    app()
