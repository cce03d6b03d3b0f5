"""Sources: each reads one place KFP leaves lineage and yields plain RunRecords.

Every source yields units (``units.Unit``: one record, built whole) and writes them
through ``units.write_units``, the one writer; ``report`` counts what it did.

- ``kfp_local/``: ``lineage run``, a pipeline run with kfp.local and recorded.
- ``kfp_mlmd/``: ``lineage ingest mlmd``, a store KFP's backend (or TFX) wrote.
- ``kfp_api/``: ``lineage ingest kfp``, KFP's v2beta1 REST API.
- ``k8s/``: ``lineage ingest pods`` and ``volumesnapshots``, the Kubernetes API.
- ``image_links``: ``lineage images resolve --all``, tasks linked to their images.
- shared: ``ir`` (walking a pipeline spec), ``spec`` (specs as pipeline versions),
  ``artifact_digest`` and ``digesting_store`` (content digests on every write).
"""
