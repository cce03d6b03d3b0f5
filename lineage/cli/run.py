"""``lineage run FILE.py:PIPELINE``: run a pipeline locally and record its lineage."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli.common import handle_errors, load_settings, open_store, print_json
from lineage.cli.sandbox_options import (
    CACHE,
    EPOCH,
    INSECURE,
    REGISTRY,
    RUNNER,
    TIMEOUT,
    open_sandbox,
)
from lineage.ingest.report import IngestReport


@handle_errors
def run(
    target: str = typer.Argument(..., help="FILE.py:PIPELINE, a @dsl.pipeline in a Python file."),
    arg: list[str] = typer.Option([], "--arg", help="A pipeline input, name=value (repeatable)."),
    pipeline_root: Path | None = typer.Option(
        None, "--pipeline-root", help="Where outputs go (default: $LINEAGE_HOME/local_outputs)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run, its tasks and outputs."),
    snapshot_inputs: bool = typer.Option(
        False,
        "--snapshot-inputs",
        help="Snapshot each input artifact before its task runs (content-addressed, restorable).",
    ),
    runner: str = RUNNER,
    registry: str | None = REGISTRY,
    insecure: list[str] = INSECURE,
    task_timeout: float = TIMEOUT,
    source_date_epoch: int = EPOCH,
    image_cache: Path | None = CACHE,
) -> None:
    """Compile and run a pipeline with kfp.local, and record it as the KFP backend would."""
    from lineage.ingest.kfp_local.load import split_target
    from lineage.ingest.kfp_local.record import summarize
    from lineage.ingest.kfp_local.run import build_record
    from lineage.ingest.kfp_local.sequence import prepare, run_and_record
    from lineage.ingest.kfp_local.snapshots import InputSnapshots

    settings = load_settings()
    prepared = prepare(*split_target(target), arg)
    root = pipeline_root or settings.home.expanduser() / "local_outputs"
    sandbox = open_sandbox(  # bwrap and umoci are checked before the store opens
        settings, runner, registry, insecure, task_timeout, source_date_epoch, image_cache
    )
    report = IngestReport(source="kfp.local")
    with open_store(settings) as store:  # opened first: a bad store fails before anything runs
        # With --json, stdout carries the JSON alone; kfp.local's logs go to stderr.
        taker = InputSnapshots(settings) if snapshot_inputs else None
        log = sys.stderr if as_json else sys.stdout
        before = taker.take if taker else None
        done = run_and_record(store, prepared, root, log, before, sandbox)
        local_run = done.run
        report.wrote(done.written)
        record = build_record(store, local_run)
        if taker is not None:
            report.wrote(taker.record(store, local_run, record))
        summary = summarize(local_run, record)
        if taker is not None:
            summary["snapshots"] = taker.summary(record)
    _report(summary, report, as_json)
    if local_run.state != "COMPLETE":
        typer.secho(
            f"run {local_run.run_id} failed: {local_run.error or 'a task failed'}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


def _report(summary: dict[str, object], report: IngestReport, as_json: bool) -> None:
    """With --json, stdout carries the JSON alone and the ingest report goes to stderr."""
    if as_json:
        print_json(summary)
        Console(stderr=True).print(report.summary(), highlight=False, soft_wrap=True)
    else:
        _print(summary)
        Console().print(report.summary(), highlight=False, soft_wrap=True)


def _print(summary: dict[str, object]) -> None:
    console = Console()
    console.print(
        f"run {summary['run_id']}  pipeline {summary['pipeline']}  state {summary['state']}",
        highlight=False,
    )
    table = Table("task", "state", "output", "type", "digest")
    tasks = summary["tasks"]
    assert isinstance(tasks, list)
    for task in tasks:
        outputs = task["outputs"] or {"": {"type": "", "digest": ""}}
        for key, out in outputs.items():
            table.add_row(task["name"], task["state"], key, out["type"], out["digest"] or "-")
    console.print(table)
