"""``lineage ingest mlmd``: a store KFP's v2 backend (or TFX) wrote, imported run by run.

- ``source_store``: the source store opened read-only (SQLite, MySQL, gRPC).
- ``read``: the batched reads made of the source, through MLMD's own API.
- ``ids``: stable ids for the source's nodes (never its row ids).
- ``tfx``: TFX's MLMD conventions mapped to KFP's roles.
- ``records``: the nodes of one unit turned into one RunRecord.
- ``importer``: the source itself: its units, watermark and retries.
"""
