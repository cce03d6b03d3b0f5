"""``lineage ingest volumesnapshots``: CSI snapshots of the volumes pipeline tasks mounted."""

from __future__ import annotations

from pathlib import Path

import typer

from lineage.cli.common import handle_errors, open_store, print_json
from lineage.cli.ingest import app
from lineage.ingest.kube import api_client


@app.command("volumesnapshots")
@handle_errors
def volumesnapshots(
    namespace: str | None = typer.Option(
        None, "--namespace", "-n", help="One namespace (default: all the account may list)."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="A kubeconfig (default: in-cluster, else $KUBECONFIG)."
    ),
    context: str | None = typer.Option(None, "--context", help="The kubeconfig context."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
) -> None:
    """Record VolumeSnapshots of PVCs named in the specs' platforms.kubernetes pvcMount."""
    from lineage.ingest.volumesnapshots import ingest_volumesnapshots, read_snapshots

    snapshots, contents = read_snapshots(api_client(kubeconfig, context), namespace)
    with open_store() as store:
        report = ingest_volumesnapshots(store, snapshots, contents)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(report.summary())
        for unit, reason in report.skips:
            typer.echo(f"  skipped {unit}: {reason}", err=True)
    report.check(source_has_records=bool(snapshots))
