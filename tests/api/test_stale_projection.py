"""The automatic backend never answers from a Neo4j projection that lags the store.

Right after an ingest, before ``lineage graph sync``, the projection does not hold
what was just recorded. The automatic backend then answers from MLMD and says why;
once synced, it answers from Neo4j again. A server makes that choice for every
request, so one started before a sync follows the projection without a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
from typer.testing import CliRunner

from lineage import model
from lineage.api.config import ApiSettings
from lineage.api.guards.auth import LOCAL
from lineage.api.http.execute import execute
from lineage.api.http.runtime import open_shared
from lineage.api.schema import build_schema
from lineage.cli.main import app
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    RunRecord,
)
from lineage.settings import Neo4jConfig, Settings
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from lineage.store.rows import rows_for
from lineage.wiring import pinned
from tests.services import Neo4jService


def _run(name: str) -> tuple[RunRecord, str, str]:
    """A run of one task that reads a dataset and writes a model: (record, dataset, model)."""
    pipeline = Context(id=model.pipeline_id("p", "default"), type=KfpType.PIPELINE, name="p")
    run = Context(id=f"run:{name}", type=KfpType.PIPELINE_RUN, name=name, parents=(pipeline.id,))
    task = Execution(
        id=model.task_id(name, "train"),
        type=KfpType.CONTAINER_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"task_name": "train"},
    )
    data = Artifact(
        id=f"artifact:gs://b/{name}/data", type=KfpType.DATASET, uri=f"gs://b/{name}/data"
    )
    out = Artifact(
        id=f"artifact:gs://b/{name}/model", type=KfpType.MODEL, uri=f"gs://b/{name}/model"
    )
    record = RunRecord(
        contexts=(pipeline, run),
        executions=(task,),
        artifacts=(data, out),
        events=(
            Event(task.id, data.id, EventType.INPUT, ("data",)),
            Event(task.id, out.id, EventType.OUTPUT, ("model",)),
        ),
    )
    return record, data.id, out.id


@pytest.fixture
def synced(
    tmp_path: Path, neo4j_service: Neo4jService, neo4j_driver: neo4j.Driver
) -> Iterator[tuple[MlmdStore, Graph]]:
    """A store with one run, projected into Neo4j."""
    store = open_sqlite(tmp_path / "mlmd.sqlite")
    graph = Graph(neo4j_service.bolt_uri)
    store.put_run(_run("first")[0])
    sync(graph, rows_for(store), store.location, full=True)
    try:
        yield store, graph
    finally:
        graph.close()
        store.close()


def _env(home: Path, uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    return {**env, "LINEAGE_HOME": str(home), "LINEAGE_NEO4J__URI": uri}


def _lineage(env: dict[str, str], node: str, *extra: str) -> Any:
    return CliRunner().invoke(app, ["lineage", node, "--json", *extra], env=env)


def test_the_cli_answers_from_mlmd_while_the_projection_lags(
    synced: tuple[MlmdStore, Graph], tmp_path: Path, neo4j_service: Neo4jService
) -> None:
    store, graph = synced
    env = _env(tmp_path, neo4j_service.bolt_uri)
    first_model = _run("first")[2]
    current = _lineage(env, first_model)
    assert current.exit_code == 0, current.output
    assert json.loads(current.stdout)["backend"] == "neo4j"

    record, data, new_model = _run("second")
    store.put_run(record)  # an ingest: the projection now lags
    fresh = _lineage(env, new_model)
    assert fresh.exit_code == 0, fresh.output
    answer = json.loads(fresh.stdout)
    assert answer["backend"] == "mlmd"
    assert {n["id"] for n in answer["nodes"]} >= {new_model, data}
    assert "lags the store" in fresh.stderr and "lineage graph sync" in fresh.stderr
    # Not only the new node: every answer comes from MLMD while the projection lags.
    assert json.loads(_lineage(env, first_model).stdout)["backend"] == "mlmd"
    # Asked for Neo4j by name, it answers from the projection, and says that it lags.
    forced = _lineage(env, new_model, "--backend", "neo4j")
    assert forced.exit_code != 0 and "no lineage node" in forced.stderr
    assert "lags the store" in forced.stderr

    sync(graph, rows_for(store), store.location)
    caught_up = _lineage(env, new_model)
    assert caught_up.exit_code == 0, caught_up.output
    assert json.loads(caught_up.stdout)["backend"] == "neo4j"
    assert {n["id"] for n in json.loads(caught_up.stdout)["nodes"]} == {
        n["id"] for n in answer["nodes"]
    }
    assert "lags" not in caught_up.stderr


def test_the_cli_answers_from_mlmd_for_a_projection_of_another_store(
    synced: tuple[MlmdStore, Graph], tmp_path: Path, neo4j_service: Neo4jService
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    elsewhere = open_sqlite(other / "mlmd.sqlite")
    record, _, only_here = _run("elsewhere")
    elsewhere.put_run(record)
    elsewhere.close()
    answer = _lineage(_env(other, neo4j_service.bolt_uri), only_here)
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.stdout)["backend"] == "mlmd"
    assert "holds the projection of" in answer.stderr


QUERY = """
query Q($model: ID!, $data: ID!) {
  artifact(id: $model) { id }
  lineage(id: $model) { nodes { id } }
  impact(artifactId: $data) { totalCount nodes { id } }
}
"""


def test_a_server_chooses_for_every_request(
    synced: tuple[MlmdStore, Graph], tmp_path: Path, neo4j_service: Neo4jService
) -> None:
    store, graph = synced
    settings = Settings(home=tmp_path, neo4j=Neo4jConfig(uri=neo4j_service.bolt_uri))
    schema = build_schema()
    notices: list[str] = []
    with open_shared(settings, ApiSettings(), notices.append) as shared:

        def ask(model_id: str, data_id: str) -> dict[str, Any]:
            done = asyncio.run(
                execute(schema, shared, LOCAL, QUERY, {"model": model_id, "data": data_id})
            )
            assert done.ok, done.body
            data: dict[str, Any] = done.body["data"]
            return data

        assert pinned(shared.reader).backend == "neo4j"
        record, data, new_model = _run("second")
        store.put_run(record)  # ingested while the server runs
        assert pinned(shared.reader).backend == "mlmd"
        before = ask(new_model, data)
        assert before["artifact"] == {"id": new_model}
        assert {n["id"] for n in before["lineage"]["nodes"]} >= {new_model, data}
        assert before["impact"]["nodes"] == [{"id": new_model}]
        assert any("lags the store" in n for n in notices), notices

        sync(graph, rows_for(store), store.location)
        assert pinned(shared.reader).backend == "neo4j"
        assert ask(new_model, data) == before
