"""``lineage ingest pods`` and ``volumesnapshots``: facts the Kubernetes API holds.

- ``client``: a Kubernetes API client (kubeconfig or in-cluster), raw JSON.
- ``pods``: the image digest each KFP task's pod really ran.
- ``volumesnapshots``: CSI snapshots of the PVCs that tasks mounted.
"""
