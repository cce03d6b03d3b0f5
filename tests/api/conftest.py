"""Fixtures for the API tests: one recorded store per session, and clients of the app.

Recording the examples with kfp.local takes most of a minute, so it happens once;
every test only reads the store.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.settings import Settings
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.api.world import World, build_world

BOOK = Path(__file__).resolve().parents[2] / "graphql" / "queries"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("api-world")
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        return build_world(store, home)
    finally:
        store.close()


@pytest.fixture(scope="session")
def settings(world: World) -> Settings:
    return Settings(home=world.home)


@pytest.fixture(scope="session")
def shared(settings: Settings) -> Iterator[Shared]:
    with open_shared(settings, ApiSettings()) as opened:
        yield opened


@pytest.fixture(scope="session")
def store(shared: Shared) -> MlmdStore:
    assert isinstance(shared.store, MlmdStore)
    return shared.store


@pytest.fixture(scope="session")
def client(settings: Settings, shared: Shared) -> Iterator[TestClient]:
    app = create_app(settings, ApiSettings(), shared=shared, audit=False)
    with TestClient(app) as test_client:
        yield test_client


def gql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    operation: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation:
        body["operationName"] = operation
    response = client.post("/graphql", json=body, headers=headers)
    data: dict[str, Any] = response.json()
    data["_status"] = response.status_code
    return data


def codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def book(name: str) -> str:
    return (BOOK / f"{name}.graphql").read_text()


START_WAIT_S = 90.0  # a deadline for a server that never starts, not a measurement


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``lineage serve`` at ``url`` answers /healthz; fails with its log if it exits
    or never answers."""
    deadline = time.monotonic() + START_WAIT_S
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "lineage serve never answered:\n" + log.read_text()
        time.sleep(0.2)
