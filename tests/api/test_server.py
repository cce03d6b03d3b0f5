"""The server: a blocked store call never stalls the event loop; /healthz checks the store
and, when configured, Neo4j."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import httpx
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.http.app import create_app
from lineage.settings import Neo4jConfig, Settings
from lineage.store.mlmd import MlmdStore
from tests.api.live import WAIT_S, serving
from tests.api.world import World
from tests.services import Neo4jService, free_port


class GatedStore:
    """The real store, except that ``get_run`` waits until the test opens the gate."""

    def __init__(self, inner: MlmdStore) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.gate = threading.Event()

    def get_run(self, run_context_id: str) -> Any:
        self.entered.set()
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        return self.inner.get_run(run_context_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_blocked_store_call_does_not_stall_other_requests(
    settings: Settings, shared: Shared, world: World
) -> None:
    gated = GatedStore(shared.store)  # type: ignore[arg-type]
    gated_shared = replace(shared, store=gated)
    app = create_app(settings, ApiSettings(), shared=gated_shared, audit=False)
    with serving(app) as url:
        slow: dict[str, Any] = {}

        def ask_slowly() -> None:
            slow["answer"] = httpx.post(
                f"{url}/graphql",
                json={"query": f'{{ run(id: "{world.run_of("training")}") {{ tasks {{ id }} }} }}'},
                timeout=WAIT_S,
            ).json()

        thread = threading.Thread(target=ask_slowly)
        thread.start()
        try:
            assert gated.entered.wait(WAIT_S), "the slow query never reached the store"
            quick = httpx.post(
                f"{url}/graphql", json={"query": "{ whoami { subject } }"}, timeout=WAIT_S
            ).json()
            assert quick == {"data": {"whoami": {"subject": "local"}}, "extensions": {"cost": 0}}
            assert "answer" not in slow, "the slow query finished before the gate opened"
        finally:
            gated.gate.set()
            thread.join(WAIT_S)
        assert slow["answer"]["data"]["run"]["tasks"]


def test_healthz_reports_an_unreachable_neo4j(world: World, shared: Shared) -> None:
    settings = Settings(home=world.home, neo4j=Neo4jConfig(uri=f"bolt://127.0.0.1:{free_port()}"))
    with TestClient(create_app(settings, ApiSettings(), shared=shared, audit=False)) as client:
        response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["store"]["status"] == "ok" and body["neo4j"]["status"] == "down"


def test_healthz_checks_a_running_neo4j(
    world: World, shared: Shared, neo4j_service: Neo4jService
) -> None:
    settings = Settings(home=world.home, neo4j=Neo4jConfig(uri=neo4j_service.bolt_uri))
    with TestClient(create_app(settings, ApiSettings(), shared=shared, audit=False)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json()["neo4j"]["status"] == "ok"
