"""The Neo4j reader without its neighbourhood copy, for tests of the level-by-level path."""

from __future__ import annotations

from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.types import LineageQuery


class LiveNeo4jReader(Neo4jReader):
    """Every level goes to Neo4j, so levels are cut there
    (``lineage.query.readers.neo4j.capped``, and ``lineage.graph.level_index`` for hubs),
    as for walks past the copy's cap."""

    def around(self, start: str, query: LineageQuery) -> LiveNeo4jReader:
        return self
