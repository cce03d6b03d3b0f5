"""The LineageReader adapters, one subpackage per backend, and the choice between them.

- ``mlmd``: MLMD's events, read in batches through the store's row scanner (the
  embedded default).
- ``neo4j``: Cypher over the projection, with its neighbourhood prefetch, level cuts
  and impact pages.
- ``auto``: a long-running server's reader, Neo4j while its projection is current,
  else MLMD, chosen again for every request.
"""
