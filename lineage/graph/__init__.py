"""The Neo4j projection of the store.

- ``connect``: a lazily connected Graph with bounded queries and clear errors.
- ``scan`` / ``sync``: project MLMD page by page (full, or incremental from a watermark
  kept in Neo4j); ``bulk``: a full sync's plain creates and its indexes at the end;
  ``follow``: a sync that keeps polling; ``freshness``: whether the projection is current.
- ``rows``: nodes and edges as compact rows, one string each over Bolt.
- ``reach_index`` and ``level_index``: the derived indexes a sync keeps (a hub's
  downstream in one short walk; a dense node's edges in id order of their far ends).
- ``reach``: what lies downstream, over the reach index or by the plain walk (verify
  compares the two; the Neo4j reader answers impact with them).
- ``verify`` and ``compare``: the projection checked against the store.

Ingest never imports this package: MLMD writes never wait for Neo4j.
"""
