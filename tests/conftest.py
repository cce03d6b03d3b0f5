"""Fixtures for the real services in tests/services/.

Each service starts once per session, only if some test asks for it. When it cannot start,
tests that need it are skipped locally (a laptop may lack MariaDB) but fail when CI=true,
so CI can never go green by silently skipping them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn, TypeVar

import neo4j
import pytest

from lineage.graph.connect import Graph
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.services import (
    MariaDBService,
    Neo4jService,
    RegistryService,
    ServiceError,
    on_ci,
    wipe_neo4j,
)

S = TypeVar("S", Neo4jService, MariaDBService, RegistryService)

# Tests that use one of these get the `services` marker: `pytest -m "not services"` runs
# the quick suite only.
SERVICE_FIXTURES = frozenset(
    {"neo4j_service", "mariadb_service", "registry_service", "neo4j_driver", "mysql_url"}
)

_startup_seconds: dict[str, list[float]] = {}


def unavailable(name: str, reason: str) -> NoReturn:
    if on_ci():
        pytest.fail(f"{name} could not start and CI=true requires it:\n{reason}", pytrace=False)
    # The full log tail is too long for a skip line; the first line and log path suffice.
    pytest.skip(f"{name} unavailable: {reason.splitlines()[0]}")


def require(name: str, service: S) -> S:
    """Starts `service` (no-op if running), or skips/fails the requesting test."""
    if service.running:
        return service
    try:
        service.start()
    except ServiceError as exc:
        reason = str(exc)
    else:
        reason = ""
    if reason:  # outside the except block, so the report is not a chained traceback
        unavailable(name, reason)
    if service.startup_seconds is not None:
        _startup_seconds.setdefault(name, []).append(service.startup_seconds)
    return service


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _startup_seconds:
        terminalreporter.section("service start-up")
        for name, times in _startup_seconds.items():
            terminalreporter.write_line(f"{name}: " + ", ".join(f"{t:.1f}s" for t in times))


def _session_service(name: str, service: S) -> Iterator[S]:
    try:
        require(name, service)
    except BaseException:  # includes pytest's skip/fail outcomes
        # Keep the home when it holds logs: the message points at them.
        if not service.log_path.exists():
            service.close()
        raise
    try:
        yield service
    finally:
        service.close()


# Session scope: one server per test session (per xdist worker), started on first use. A
# failed setup is cached by pytest, so a service that cannot start is tried only once.


@pytest.fixture(scope="session")
def neo4j_service() -> Iterator[Neo4jService]:
    yield from _session_service("neo4j", Neo4jService())


@pytest.fixture(scope="session")
def mariadb_service() -> Iterator[MariaDBService]:
    yield from _session_service("mariadb", MariaDBService())


@pytest.fixture(scope="session")
def registry_service() -> Iterator[RegistryService]:
    yield from _session_service("registry", RegistryService())


@pytest.fixture
def neo4j_driver(neo4j_service: Neo4jService) -> Iterator[neo4j.Driver]:
    # A restart test that failed half-way may have left the shared server stopped.
    require("neo4j", neo4j_service)
    with neo4j_service.driver() as driver:
        wipe_neo4j(driver)
        yield driver


@pytest.fixture
def mysql_url(mariadb_service: MariaDBService, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a new, empty database named after the test (plus a suffix for uniqueness)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:40]
    name = f"t_{stem}_{uuid.uuid4().hex[:8]}"
    url = mariadb_service.create_database(name)
    yield url
    mariadb_service.drop_database(name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MlmdStore]:
    """A fresh embedded MLMD store (test modules with their own ``store`` override it)."""
    opened = open_sqlite(tmp_path / "mlmd.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def graph(neo4j_service: Neo4jService) -> Iterator[Graph]:
    """A connection to the session's real Neo4j."""
    connected = Graph(neo4j_service.bolt_uri)
    yield connected
    connected.close()
