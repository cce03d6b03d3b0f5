"""The Neo4j LineageReader: Cypher over the projection ``lineage.graph`` writes.

- ``reader``: Neo4jReader, one level per query.
- ``prefetch``: a walk's neighbourhood fetched in one query, then walked in memory.
- ``capped``: a level cut to its first new nodes inside Neo4j.
- ``impact``: impact pages answered inside Neo4j, over the reach index when it is there.
- ``cypher``: what their queries share (the node map, the relationship types).
"""
