"""``lineage run FILE.py:PIPELINE``: run a pipeline locally and record its lineage."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli.common import handle_errors, load_settings, open_store, print_json
from lineage.errors import BadInputError
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
    runner: str = typer.Option(
        "subprocess",
        "--runner",
        help="subprocess (kfp.local's SubprocessRunner, in this Python) or sandbox "
        "(each task in its pinned image, offline, with bubblewrap).",
    ),
    registry: str | None = typer.Option(
        None, "--registry", help="sandbox: pull every image from this registry (host:port)."
    ),
    insecure: list[str] = typer.Option(
        [], "--insecure", help="sandbox: a host:port to reach over plain HTTP (repeatable)."
    ),
    task_timeout: float = typer.Option(
        3600.0, "--task-timeout", help="sandbox: seconds a task may run before it is killed."
    ),
    source_date_epoch: int = typer.Option(
        0, "--source-date-epoch", envvar="SOURCE_DATE_EPOCH", help="sandbox: SOURCE_DATE_EPOCH."
    ),
    image_cache: Path | None = typer.Option(
        None, "--image-cache", help="sandbox: the image cache (default: $LINEAGE_HOME/sandbox)."
    ),
) -> None:
    """Compile and run a pipeline with kfp.local, and record it as the KFP backend would."""
    from lineage.ingest.kfp_local.load import split_target
    from lineage.ingest.kfp_local.record import summarize
    from lineage.ingest.kfp_local.run import build_record
    from lineage.ingest.kfp_local.sequence import prepare, run_and_record
    from lineage.ingest.kfp_local.snapshots import InputSnapshots
    from lineage.sandbox.runner import RUNNER_NAME

    settings = load_settings()
    prepared = prepare(*split_target(target), arg)
    root = pipeline_root or settings.home.expanduser() / "local_outputs"
    sandbox = None
    if runner == "sandbox":  # bwrap and umoci are checked before the store opens
        from lineage.cli.images import make_client
        from lineage.sandbox.runner import SandboxRunner

        sandbox = SandboxRunner.open(
            image_cache or settings.home.expanduser() / "sandbox",
            make_client(insecure, None),
            registry,
            task_timeout,
            source_date_epoch,
        )
    elif runner != "subprocess":
        raise BadInputError(f"--runner {runner!r}: use subprocess or sandbox")
    report = IngestReport(source="kfp.local")
    with open_store(settings) as store:  # opened first: a bad store fails before anything runs
        # With --json, stdout carries the JSON alone; kfp.local's logs go to stderr.
        taker = InputSnapshots(settings) if snapshot_inputs else None
        log = sys.stderr if as_json else sys.stdout
        before = taker.take if taker else None
        if sandbox is None:
            done = run_and_record(store, prepared, root, log, before)
        else:
            done = run_and_record(store, prepared, root, log, before, sandbox, RUNNER_NAME)
        local_run = done.run
        report.wrote(done.written)
        record = build_record(store, local_run)
        if taker is not None:
            report.wrote(taker.record(store, local_run, record))
        summary = summarize(local_run, record)
        if taker is not None:
            summary["snapshots"] = taker.summary(record)
    if as_json:
        print_json(summary)
        Console(stderr=True).print(report.summary(), highlight=False, soft_wrap=True)
    else:
        _print(summary)
        Console().print(report.summary(), highlight=False, soft_wrap=True)
    if local_run.state != "COMPLETE":
        typer.secho(
            f"run {local_run.run_id} failed: {local_run.error or 'a task failed'}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


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
