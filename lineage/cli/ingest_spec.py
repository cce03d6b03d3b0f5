"""``lineage ingest spec FILE.yaml...``: record compiled pipeline specs as pipeline versions."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from lineage.cli.common import handle_errors, open_store, print_json
from lineage.cli.ingest import app
from lineage.errors import BadInputError
from lineage.ingest.report import IngestReport
from lineage.ingest.spec import PipelineSpecInfo, load_spec_documents, parse_spec, write_spec


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
    """Record pipeline specs as content-addressed pipeline versions (id = sha256 of the spec).

    Every file is read and checked before any is written: one bad file and nothing is.
    """
    err = Console(stderr=True)
    checked = _check_all(files, err)
    if checked.failures:
        _refuse(checked)
    report = IngestReport(source="ingest spec")
    printed: list[dict[str, object]] = []
    with open_store() as store:
        for file, info in checked.specs:
            report.wrote(write_spec(store, info))
            printed.append({"file": str(file), **info.summary()})
    if as_json:
        print_json(printed)
        err.print(report.summary(), highlight=False, soft_wrap=True)
    else:
        _print_table(printed)
        Console().print(report.summary(), highlight=False, soft_wrap=True)


@dataclass
class _Checked:
    specs: list[tuple[Path, PipelineSpecInfo]] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)


def _check_all(files: list[Path], err: Console) -> _Checked:
    """Parse and validate every file, writing nothing: the batch is all or nothing."""
    checked = _Checked()
    units = track(files, description="specs", console=err) if err.is_terminal else files
    for file in units:
        try:
            spec, platform = load_spec_documents(file)
            checked.specs.append((file, parse_spec(spec, platform, source=str(file))))
        except BadInputError as exc:
            checked.failures.append((file, _message(file, exc)))
    return checked


def _refuse(checked: _Checked) -> NoReturn:
    """Name every bad file, say that no file was written, and fail the command."""
    for file, message in checked.failures:
        typer.secho(f"failed: {file}: {message}", fg=typer.colors.RED, err=True)
    good = len(checked.specs)
    bad = len(checked.failures)
    first, message = checked.failures[0]
    more = f" (and {bad - 1} more)" if bad > 1 else ""
    raise BadInputError(
        f"ingest spec: {first}: {message}{more}; nothing written "
        f"({bad} file(s) refused, {good} good file(s) not written either: fix or drop the bad ones)"
    )


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
