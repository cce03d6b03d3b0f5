"""Recurring runs: each schedule is a node of its own, linked to the runs it started.

Replayed from tests/fixtures/kfp_api/mlmd_era: a cron schedule (``nightly-train``,
enabled) that started the running run, and an interval schedule (``hourly-eval``,
disabled) that started none. Checked in the store, in the GraphQL API, and as the
TRIGGERED_BY edge on both lineage readers (MLMD and the Neo4j projection).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.ingest.kfp_api.client import KfpApiClient
from lineage.ingest.kfp_api.importer import KfpApiIngest
from lineage.model import Direction, EdgeKind, LineageType, NodeKind, recurring_run_id, run_id
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import LineageQuery
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from tests.api.conftest import gql
from tests.ingest.mlmd_helpers import fast_tmp, open_home
from tests.services.kfp_api_replay import MLMD_ERA, ReplayServer

__all__ = ["fast_tmp"]

RUNNING = "5f0c1d9e-2b7a-4c41-9a57-3f3e5d2c1a02"
DONE = "5f0c1d9e-2b7a-4c41-9a57-3f3e5d2c1a01"
NIGHTLY = recurring_run_id("aaaa0000-recu-4000-8000-000000000001")
HOURLY = recurring_run_id("bbbb0000-recu-4000-8000-000000000002")


@pytest.fixture
def home(fast_tmp: Path) -> Path:
    server = ReplayServer.of("mlmd_era", MLMD_ERA).start()
    server.serve(f"runs/{RUNNING}", "run_running.json")
    store = open_home(fast_tmp / "home")
    try:
        with KfpApiClient(server.url, retries=0, sleep=lambda _: None) as client:
            assert KfpApiIngest(client, store).run().failed == 0
    finally:
        store.close()
        server.stop()
    return fast_tmp / "home"


def _store(home: Path) -> MlmdStore:
    return open_home(home)


def test_each_schedule_is_a_node_and_its_runs_name_it(home: Path) -> None:
    store = _store(home)
    try:
        nightly, hourly = store.get_contexts([NIGHTLY, HOURLY])
        running, done = store.get_contexts([run_id(RUNNING), run_id(DONE)])
    finally:
        store.close()
    assert nightly.type == hourly.type == LineageType.RECURRING_RUN
    assert nightly.properties["trigger"] == {"schedule": "cron", "cron": "0 0 2 * * *"}
    assert (nightly.properties["mode"], nightly.properties["status"]) == ("ENABLE", "ENABLED")
    assert hourly.properties["trigger"] == {
        "schedule": "interval",
        "interval_second": "3600",
        "start_time": "2024-05-02T10:00:00Z",
    }
    assert (hourly.properties["mode"], hourly.properties["status"]) == ("DISABLE", "DISABLED")
    assert NIGHTLY in running.parents
    assert not any(p.startswith("recurring-run:") for p in done.parents)


def _query(home: Path, document: str) -> dict[str, Any]:
    settings = Settings(home=home)
    with open_shared(settings, ApiSettings()) as shared:
        app = create_app(settings, ApiSettings(), shared=shared, audit=False)
        with TestClient(app) as client:
            return gql(client, document)


def test_the_api_answers_a_runs_recurring_run(home: Path) -> None:
    answer = _query(
        home,
        f'{{ running: run(id: "{run_id(RUNNING)}") {{ recurringRun {{ id kind name mode '
        "status trigger { schedule cron intervalSeconds } } } "
        f'done: run(id: "{run_id(DONE)}") {{ recurringRun {{ id }} }} '
        f'hourly: node(id: "{HOURLY}") {{ __typename ... on RecurringRun {{ status '
        "trigger { schedule intervalSeconds startTime } } } }",
    )
    assert "errors" not in answer, answer
    assert answer["data"]["running"]["recurringRun"] == {
        "id": NIGHTLY,
        "kind": "RECURRING_RUN",
        "name": "nightly-train",
        "mode": "ENABLE",
        "status": "ENABLED",
        "trigger": {"schedule": "cron", "cron": "0 0 2 * * *", "intervalSeconds": None},
    }
    assert answer["data"]["done"]["recurringRun"] is None
    assert answer["data"]["hourly"] == {
        "__typename": "RecurringRun",
        "status": "DISABLED",
        "trigger": {
            "schedule": "interval",
            "intervalSeconds": 3600,
            "startTime": "2024-05-02T10:00:00Z",
        },
    }


def test_both_readers_walk_triggered_by(home: Path, graph: Graph) -> None:
    store = _store(home)
    try:
        sync(graph, rows_for(store), store.location, full=True)
        query = LineageQuery(
            run_id(RUNNING), Direction.DOWNSTREAM, edge_kinds=frozenset({EdgeKind.TRIGGERED_BY})
        )
        back = LineageQuery(
            NIGHTLY, Direction.UPSTREAM, edge_kinds=frozenset({EdgeKind.TRIGGERED_BY})
        )
        for reader in (MlmdReader(store), Neo4jReader(graph)):
            answer = LineageService(reader).lineage(query)
            edges = {(e.source, e.target, e.kind) for e in answer.edges}
            assert edges == {(run_id(RUNNING), NIGHTLY, EdgeKind.TRIGGERED_BY)}, reader
            assert {n.id: n.kind for n in answer.nodes}[NIGHTLY] is NodeKind.RECURRING_RUN
            runs = {n.id for n in LineageService(reader).lineage(back).nodes} - {NIGHTLY}
            assert runs == {run_id(RUNNING)}, reader
    finally:
        store.close()
