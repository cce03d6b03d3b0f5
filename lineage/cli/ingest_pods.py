"""``lineage ingest pods``: the image digests KFP's task pods really ran."""

from __future__ import annotations

from pathlib import Path

import typer

from lineage.cli.common import handle_errors, open_store, print_json
from lineage.cli.ingest import app
from lineage.ingest.kube import api_client
from lineage.ingest.report import IngestReport


@app.command("pods")
@handle_errors
def pods(
    namespace: str | None = typer.Option(
        None, "--namespace", "-n", help="One namespace (default: all the account may list)."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="A kubeconfig (default: in-cluster, else $KUBECONFIG)."
    ),
    context: str | None = typer.Option(None, "--context", help="The kubeconfig context."),
    watch: bool = typer.Option(False, "--watch", help="Follow pods as they start."),
    watch_seconds: float | None = typer.Option(
        None, "--watch-seconds", help="Stop watching after this long (default: never)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
) -> None:
    """Record the imageID of each pod's main container against the task that ran in it."""
    from kubernetes import client

    from lineage.ingest.pods import ingest_pods, list_pods, watch_pods

    api = client.CoreV1Api(api_client(kubeconfig, context))
    report = IngestReport("pods")
    with open_store() as store:
        if watch:
            watch_pods(store, api, namespace, report, seconds=watch_seconds)
            has_records = True
        else:
            items, _ = list_pods(api, namespace)
            ingest_pods(store, items, report)
            has_records = bool(items)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary())
        for unit, reason in report.skips:
            typer.echo(f"  later {unit}: {reason}", err=True)
    report.check(source_has_records=has_records)
