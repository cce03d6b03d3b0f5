"""Content-addressed data snapshots: Merkle manifests over a deduplicated blob store."""
