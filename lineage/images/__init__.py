"""Container images by digest: an OCI Distribution client and images in the lineage."""
