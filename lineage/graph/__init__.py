"""The Neo4j projection of the store.

- ``connect``: a lazily connected Graph with bounded queries and clear errors.
- ``scan`` / ``sync``: project MLMD page by page (full, or incremental from a watermark
  kept in Neo4j); ``verify``: compare counts and sampled edges with the store.
- ``reach``: what lies downstream, over the reach index or by the plain walk (verify
  compares the two; the Neo4j reader answers impact with them).
- ``readers``: choose a reader (auto, mlmd, neo4j) for the CLI and the API.

Ingest never imports this package: MLMD writes never wait for Neo4j.
"""
