"""What the ingest commands print: a progress bar on a terminal, then the report."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from lineage.cli.common import print_json
from lineage.ingest.report import IngestReport
from lineage.ingest.units import Progress


@contextmanager
def progress_bar(description: str, as_json: bool) -> Iterator[Progress | None]:
    """A rich progress bar when stdout is a terminal (and not --json), else nothing."""
    console = Console()
    if as_json or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[unit]}"),
    )
    with Bar(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None, unit="")

        def advance(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, unit=label)

        yield advance


def finish(report: IngestReport, as_json: bool, has_records: bool) -> None:
    """Print the report (JSON with --json), then fail the command if the ingest failed."""
    if as_json:
        print_json(report.as_dict())
    else:
        Console().print(report.summary(), highlight=False, soft_wrap=True)
        if not has_records:
            typer.echo("nothing new since the last ingest")
        for unit, reason in report.skips:
            typer.echo(f"  skipped {unit}: {reason}", err=True)
    for unit, message in report.failures:
        typer.secho(f"failed: {unit}: {message}", fg=typer.colors.RED, err=True)
    sys.stdout.flush()
    report.check(source_has_records=has_records)
