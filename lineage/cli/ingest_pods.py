"""``lineage ingest pods``: the image digests KFP's task pods really ran."""

from __future__ import annotations

import typer

from lineage.cli.common import handle_errors, open_store
from lineage.cli.ingest import app
from lineage.cli.ingest_output import finish
from lineage.cli.kube_options import AsJson, Kubeconfig, KubeContext, Namespace
from lineage.ingest.k8s.client import api_client
from lineage.ingest.report import IngestReport


@app.command("pods")
@handle_errors
def pods(
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    watch: bool = typer.Option(False, "--watch", help="Follow pods as they start."),
    watch_seconds: float | None = typer.Option(
        None, "--watch-seconds", help="Stop watching after this long (default: never)."
    ),
    as_json: AsJson = False,
) -> None:
    """Record the imageID of each pod's main container against the task that ran in it."""
    from kubernetes import client

    from lineage.ingest.k8s.pods import ingest_pods, list_pods, watch_pods

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
    finish(report, as_json, has_records)
