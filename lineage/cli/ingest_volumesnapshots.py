"""``lineage ingest volumesnapshots``: CSI snapshots of the volumes pipeline tasks mounted."""

from __future__ import annotations

from lineage.cli.common import handle_errors, open_store
from lineage.cli.ingest import app
from lineage.cli.ingest_output import finish
from lineage.cli.kube_options import AsJson, Kubeconfig, KubeContext, Namespace
from lineage.ingest.k8s.client import api_client


@app.command("volumesnapshots")
@handle_errors
def volumesnapshots(
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    as_json: AsJson = False,
) -> None:
    """Record VolumeSnapshots of PVCs named in the specs' platforms.kubernetes pvcMount."""
    from lineage.ingest.k8s.volumesnapshots import ingest_volumesnapshots, read_snapshots

    snapshots, contents = read_snapshots(api_client(kubeconfig, context), namespace)
    with open_store() as store:
        report = ingest_volumesnapshots(store, snapshots, contents)
    finish(report, as_json, bool(snapshots))
