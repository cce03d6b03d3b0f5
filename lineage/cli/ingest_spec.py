"""``lineage ingest spec FILE.yaml...``: record compiled pipeline specs as pipeline versions."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from lineage.cli.common import handle_errors, open_store, print_json
from lineage.cli.ingest import app
from lineage.errors import BadInputError
from lineage.ingest.report import IngestReport
from lineage.ingest.spec import load_spec_documents, parse_spec, write_spec


def _message(file: Path, exc: BadInputError) -> str:
    """The error without the file name in front: the report names the file already."""
    text = str(exc)
    prefix = f"{file}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


@app.command("spec")
@handle_errors
def ingest_spec(
    files: list[Path] = typer.Argument(..., help="Compiled pipeline specs (KFP IR YAML)."),
    as_json: bool = typer.Option(False, "--json", help="Print each spec's id, tasks and images."),
) -> None:
    """Record pipeline specs as content-addressed pipeline versions (id = sha256 of the spec)."""
    report = IngestReport(source="ingest spec")
    printed: list[dict[str, object]] = []
    err = Console(stderr=True)
    with open_store() as store:
        units = track(files, description="specs", console=err) if err.is_terminal else files
        for file in units:
            try:
                spec, platform = load_spec_documents(file)
                info = parse_spec(spec, platform, source=str(file))
            except BadInputError as exc:
                report.fail(str(file), _message(file, exc))
                continue
            report.wrote(write_spec(store, info))
            printed.append({"file": str(file), **info.summary()})
    if as_json:
        print_json(printed)
        err.print(report.summary(), highlight=False, soft_wrap=True)
    else:
        _print_table(printed)
        Console().print(report.summary(), highlight=False, soft_wrap=True)
    for unit, message in report.failures:
        typer.secho(f"failed: {unit}: {message}", fg=typer.colors.RED, err=True)
    report.check(source_has_records=bool(files))


def _print_table(printed: list[dict[str, object]]) -> None:
    if not printed:
        return
    table = Table("file", "pipeline", "version", "tasks", "images (pinned)")
    for item in printed:
        tasks = item["tasks"]
        images = item["images"]
        assert isinstance(tasks, list) and isinstance(images, list)
        pinned = sum(1 for i in images if i["pinned"])
        table.add_row(
            str(item["file"]),
            str(item["pipeline"]),
            str(item["id"]),
            str(len(tasks)),
            f"{len(images)} ({pinned})",
        )
    Console(width=max(120, Console().width), file=sys.stdout).print(table)
