"""The lineage readers, one adapter per backend, each behind lineage.query.port."""
