"""End to end over HTTP: a pipeline recorded by ``lineage run`` is queried with the query
book through a real ``lineage serve`` process on a free loopback port, and the answers
match the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lineage.model import EventType, KfpType
from lineage.store.connect import open_sqlite
from tests.api import storewalk
from tests.api.conftest import book, wait_healthy
from tests.api.hostile import stream
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
LINEAGE = str(Path(sys.executable).with_name("lineage"))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return env


@dataclass
class Served:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log: Path
    run: str

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("e2e")
    home = base / "home"
    ran = subprocess.run(
        [LINEAGE, "run", "lineage/examples/training.py:training_pipeline", "--json"],
        cwd=REPO,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    run = "run:" + json.loads(ran.stdout)["run_id"]
    port = free_port()
    log = base / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [LINEAGE, "serve", "--port", str(port)],
            cwd=REPO,
            env=_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield Served(url, home, process, log, run)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_serve_says_it_binds_loopback_without_auth(served: Served) -> None:
    text = served.log.read_text()
    assert "auth: off" in text and "loopback only" in text
    health = httpx.get(f"{served.url}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["store"]["status"] == "ok"
    page = httpx.get(f"{served.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_the_query_book_over_http_matches_the_store(served: Served) -> None:
    store = open_sqlite(served.home / "mlmd.sqlite")
    try:
        record = store.get_run(served.run)
        model = next(a for a in record.artifacts if a.type == KfpType.MODEL)
        dataset = next(a for a in record.artifacts if a.type == KfpType.DATASET)

        inputs = served.post(book("model_inputs"), {"model": model.id})
        assert "errors" not in inputs, inputs
        upstream = {n["id"] for n in inputs["data"]["lineage"]["nodes"]} - {model.id}
        assert upstream == storewalk.upstream_artifacts(store, model.id)

        overview = served.post(book("run_overview"), {"run": served.run})["data"]["run"]
        assert {t["id"] for t in overview["tasks"]} == {e.id for e in record.executions}
        for task in overview["tasks"]:
            stored = next(e for e in record.executions if e.id == task["id"])
            parameters = stored.properties.get("inputs") or {}
            assert isinstance(parameters, dict)
            assert {p["name"]: p["value"] for p in task["parameters"]} == parameters
            written = {
                e.artifact
                for e in record.events
                if e.execution == task["id"] and e.type is EventType.OUTPUT
            }
            assert {o["id"] for o in task["outputs"]} == written

        path = served.post(book("data_to_model_path"), {"from": dataset.id, "to": model.id})
        assert path["data"]["path"]["found"] is True

        best = served.post(book("best_model"), {"pipeline": "training", "metric": "accuracy"})
        metrics = next(a for a in record.artifacts if a.type == KfpType.METRICS)
        top = best["data"]["bestModels"]["models"][0]
        assert top["value"] == metrics.properties["accuracy"] and top["model"]["id"] == model.id

        same = served.post(book("model_diff"), {"from": model.id, "to": model.id})
        assert same["data"]["diff"]["same"] is True

        runs = served.post(book("runs_of_pipeline"), {"pipeline": "training"})
        assert [n["id"] for n in runs["data"]["runs"]["nodes"]] == [served.run]
    finally:
        store.close()


def test_hostile_documents_leave_the_server_up(served: Served) -> None:
    """The hostile corpus against a live server: a client error for each, never INTERNAL,
    and exactly one audit line per request, each in the file before its answer."""
    log = served.home / "audit.jsonl"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    sent = 0
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for hostile in stream(300):
            if hostile.raw:
                response = client.post(
                    "/graphql", content=hostile.body, headers={"content-type": "application/json"}
                )
            else:
                response = client.post("/graphql", json=hostile.body)
            sent += 1
            assert response.status_code < 500, (hostile.name, response.text[:200])
            got = [e["extensions"]["code"] for e in response.json()["errors"]]
            assert "INTERNAL" not in got and got == [hostile.code], (hostile.name, got)
            assert len(log.read_text().splitlines()) == before + sent, hostile.name
        ok = client.post("/graphql", json={"query": "{ runs { nodes { id } } }"}).json()
    assert ok["data"]["runs"]["nodes"] == [{"id": served.run}]
    assert served.process.poll() is None
    lines = [json.loads(x) for x in log.read_text().splitlines()[before:]]
    assert len(lines) == sent + 1
    assert not any("INTERNAL" in line["errors"] for line in lines)


def test_cursors_page_across_worker_processes(served: Served) -> None:
    """`serve --workers 2` without LINEAGE_CURSOR_KEY: a cursor one worker hands out is
    honoured by the other (each new connection may land on either)."""
    port = free_port()
    log = served.home.parent / "serve-workers.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [LINEAGE, "serve", "--port", str(port), "--workers", "2"],
            cwd=REPO,
            env=_env(served.home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        first = httpx.post(
            f"{url}/graphql",
            json={"query": "{ artifacts(first: 1) { pageInfo { endCursor hasNextPage } } }"},
            timeout=30,
        ).json()
        info = first["data"]["artifacts"]["pageInfo"]
        assert info["hasNextPage"] and info["endCursor"], first
        query = "query($c: String) { artifacts(first: 1, after: $c) { nodes { id } } }"
        for _ in range(30):  # a new connection each time, so both workers answer some
            answer = httpx.post(
                f"{url}/graphql",
                json={"query": query, "variables": {"c": info["endCursor"]}},
                timeout=30,
            ).json()
            assert "errors" not in answer, answer
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
