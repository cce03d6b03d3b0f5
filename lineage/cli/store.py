"""``lineage store``: the system of record itself."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli.common import handle_errors, open_store, print_json

app = typer.Typer(help="The metadata store (ML Metadata): where it is and what it holds.")


@app.command("info")
@handle_errors
def info(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The backend, its location, and counts by kind and type."""
    with open_store() as store:
        counts = store.counts()
        if as_json:
            print_json({"backend": store.backend, "location": store.location, **counts.as_dict()})
            return
        console = Console()
        console.print(f"backend   {store.backend}\nlocation  {store.location}")
        table = Table("kind", "count")
        for kind in ("contexts", "executions", "artifacts", "events"):
            table.add_row(kind, str(getattr(counts, kind)))
        for name, n in sorted(counts.by_type.items()):
            table.add_row(f"  {name}", str(n))
        console.print(table)
