"""``lineage ingest``: the command group every source adds its command to."""

from __future__ import annotations

import typer

app = typer.Typer(help="Record lineage from a source into the metadata store.")
