"""``lineage ingest kfp``: pipeline versions and run facts from KFP's v2beta1 REST API.

- ``client``: a small read-only client that retries and pages.
- ``runs``: run-level facts as properties of the run's context.
- ``tasks``: native tasks and artifacts of KFP releases without MLMD.
- ``triggers``: recurring runs as nodes of their own.
- ``importer``: the source itself: its units, watermark and retries.
"""
