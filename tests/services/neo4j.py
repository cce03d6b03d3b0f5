"""A real Neo4j on a free loopback port, and a wipe between tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import neo4j

from tests.services.process import (
    NEO4J_RUN,
    _Service,
    find_binary,
)


class Neo4jService(_Service):
    """Embedded Neo4j Community 5.26 (tools/neo4j), Bolt only, no auth."""

    name = "neo4j"

    def __init__(
        self,
        home: Path | None = None,
        port: int | None = None,
        timeout: float = 180.0,
        settings: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(home, port)
        self.timeout = timeout  # generous: the first start may resolve jars with Maven
        # The launcher's -Dlineage.neo4j.<name> settings (tools/neo4j/Launcher.java), e.g.
        # {"txtimeout.ms": 500, "txmax.kb": 4096} for a server with tight transaction limits.
        self.settings = dict(settings or {})

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def driver(self, **config: Any) -> neo4j.Driver:
        return neo4j.GraphDatabase.driver(self.bolt_uri, auth=None, **config)

    def _start(self) -> None:
        find_binary("java")
        env = None
        if self.settings:
            opts = " ".join(f"-Dlineage.neo4j.{k}={int(v)}" for k, v in self.settings.items())
            env = {**os.environ, "LINEAGE_NEO4J_OPTS": opts}
        proc = self._spawn([str(NEO4J_RUN), str(self.home / "server"), str(self.port)], env)

        def connected() -> bool:
            # Bound the Bolt handshake too (acquisition timeout, 60s by default): a port
            # that accepts but never answers must not stall the readiness loop.
            with self.driver(connection_timeout=2.0, connection_acquisition_timeout=5.0) as driver:
                driver.verify_connectivity()
            return True

        proc.wait_ready(connected, self.timeout)


def _quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def wipe_neo4j(driver: neo4j.Driver) -> None:
    """Empties the graph and its schema, leaving the built-in token lookup indexes."""
    driver.execute_query("MATCH (n) DETACH DELETE n")
    # Constraints first: dropping one also drops the index that backs it.
    for record in driver.execute_query("SHOW CONSTRAINTS YIELD name").records:
        driver.execute_query(f"DROP CONSTRAINT {_quote_name(record['name'])} IF EXISTS")
    indexes = driver.execute_query(
        "SHOW INDEXES YIELD name, type, owningConstraint "
        "WHERE type <> 'LOOKUP' AND owningConstraint IS NULL RETURN name"
    )
    for record in indexes.records:
        driver.execute_query(f"DROP INDEX {_quote_name(record['name'])} IF EXISTS")
