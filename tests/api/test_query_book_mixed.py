"""The query book runs on both backends against one store that holds KFP runs, a TFX
store and snapshots (tests/api/mixed_world.py), and gives the same answers.

Every query of graphql/queries/ is found in the folder. Its variables come from the
store, by the names of the variables it requires (``model``, ``run``, ``from`` and
``to``...), one set for each kind of data they apply to, so a new query over known
variables is covered as it is added; a query that requires variables nothing here
knows fails, naming them. Each answer from MLMD must equal the answer from Neo4j, page
after page, and where the data implies an answer it must be there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import NonNullTypeNode, OperationDefinitionNode, parse

from lineage.api.config import ApiSettings
from lineage.api.context import Blocking, Shared
from lineage.api.http.app import create_app
from lineage.api.http.runtime import limits_of
from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.settings import Neo4jConfig, Settings
from lineage.store.connect import open_sqlite, open_store
from lineage.store.rows import rows_for
from lineage.wiring import Backend, open_reader
from tests.api.conftest import BOOK, gql
from tests.api.mixed_world import IMAGE, TFX_PIPELINE, Mixed, build_mixed
from tests.conftest import require
from tests.services import Neo4jService

QUERIES = sorted(p.stem for p in BOOK.glob("*.graphql"))
MAX_PAGES = 20  # a bound on following cursors, far above what the store holds
CURSOR = "<cursor>"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Mixed:
    return build_mixed(tmp_path_factory.mktemp("mixed"))


@contextmanager
def _client(settings: Settings, backend: Backend) -> Iterator[TestClient]:
    """The app answering from the named backend, whatever the automatic choice would be:
    the same Shared as ``open_shared`` builds, with the reader fixed."""
    api = ApiSettings()
    with ExitStack() as stack:
        store = open_store(settings)
        stack.callback(store.close)
        reader = stack.enter_context(open_reader(settings, backend))
        assert reader.backend == backend.value
        shared = Shared(
            store=store,
            reader=reader,
            limits=limits_of(api),
            blocking=Blocking(1),
            reader_blocking=Blocking(8 if backend is Backend.NEO4J else 1),
            default_namespace=api.default_namespace,
        )
        stack.callback(shared.blocking.close)
        stack.callback(shared.reader_blocking.close)
        app = create_app(settings, api, shared=shared, audit=False)
        yield stack.enter_context(TestClient(app))


@pytest.fixture(scope="module")
def clients(mixed: Mixed, neo4j_service: Neo4jService) -> Iterator[dict[Backend, TestClient]]:
    require("neo4j", neo4j_service)
    graph = Graph(neo4j_service.bolt_uri)
    store = open_sqlite(mixed.home / "mlmd.sqlite")
    try:
        sync(graph, rows_for(store), store.location, full=True)
        assert verify(graph, rows_for(store)).ok
    finally:
        store.close()
        graph.close()
    settings = Settings(home=mixed.home, neo4j=Neo4jConfig(uri=neo4j_service.bolt_uri))
    with (
        _client(settings, Backend.MLMD) as from_mlmd,
        _client(settings, Backend.NEO4J) as from_neo4j,
    ):
        yield {Backend.MLMD: from_mlmd, Backend.NEO4J: from_neo4j}


def _cases(m: Mixed) -> dict[frozenset[str], list[dict[str, Any]]]:
    """Variables by the set of variables a query requires, for each kind of data."""
    snapshots = [*m.input_snapshots, m.standalone_snapshot]
    pipelines = ["training", TFX_PIPELINE, f"pipeline:{TFX_PIPELINE}"]
    return {
        frozenset({"model"}): [{"model": x} for x in (*m.kfp_models, *m.tfx_models, *m.tfx_pushed)],
        frozenset({"run"}): [{"run": r} for r in (*m.kfp_runs, *m.tfx_runs)],
        frozenset({"digest"}): [{"digest": IMAGE}],
        frozenset({"snapshot"}): [{"snapshot": s} for s in snapshots],
        # ``first: 1`` makes the answers page, so cursors are followed too.
        frozenset({"pipeline"}): [{"pipeline": p, "first": 1} for p in pipelines],
        frozenset({"pipeline", "metric"}): [
            {"pipeline": p, "metric": "accuracy", "first": 5} for p in pipelines
        ],
        frozenset({"from", "to"}): [
            {"from": m.kfp_models[0], "to": m.kfp_models[1]},  # two versions of a KFP model
            {"from": m.tfx_models[0], "to": m.tfx_models[1]},  # two TFX Trainer models
            {"from": m.kfp_datasets[0], "to": m.kfp_models[0]},  # KFP data to its model
            {"from": m.tfx_examples[1], "to": m.tfx_pushed[1]},  # TFX data to the push
            {"from": m.dataset_snapshot, "to": m.kfp_models[0]},  # a snapshot to its model
        ],
    }


def _required(document: str) -> tuple[frozenset[str], frozenset[str]]:
    """The variables a query requires (non-null, no default), and all it declares."""
    [operation] = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    declared = operation.variable_definitions or ()
    required = {
        v.variable.name.value
        for v in declared
        if isinstance(v.type, NonNullTypeNode) and v.default_value is None
    }
    return frozenset(required), frozenset(v.variable.name.value for v in declared)


def _page_info(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _page_info(item)
    elif isinstance(value, dict):
        if "hasNextPage" in value:
            yield value
        for item in value.values():
            yield from _page_info(item)


def _normalised(value: Any) -> Any:
    """An answer with its cursors replaced: a cursor is sealed with AES-GCM under a fresh
    nonce (lineage.api.guards.cursors), so two cursors to the same place never read the same.
    Where they lead is compared instead, by following each backend's own."""
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, dict):
        return {
            k: (CURSOR if k == "endCursor" and v is not None else _normalised(v))
            for k, v in value.items()
        }
    return value


def _pages(client: TestClient, document: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer, and with an ``after`` variable every further page, as asked."""
    _, declared = _required(document)
    asked = dict(variables)
    pages = []
    for _ in range(MAX_PAGES):
        answer = gql(client, document, asked)
        assert answer["_status"] == 200, answer
        pages.append({k: v for k, v in answer.items() if k in ("data", "errors")})
        more = [p for p in _page_info(answer.get("data")) if p["hasNextPage"]]
        if "after" not in declared or not more:
            return pages
        [info] = more
        asked["after"] = info["endCursor"]
    raise AssertionError(f"more than {MAX_PAGES} pages: {variables}")


@pytest.mark.parametrize("name", QUERIES)
def test_each_query_answers_the_same_from_mlmd_and_neo4j(
    name: str, mixed: Mixed, clients: dict[Backend, TestClient]
) -> None:
    document = (BOOK / f"{name}.graphql").read_text()
    required, _ = _required(document)
    cases = _cases(mixed)
    assert required in cases, f"{name}: no variables chosen for {sorted(required)}"
    for variables in cases[required]:
        answers = {b: _pages(c, document, variables) for b, c in clients.items()}
        mlmd, neo4j = (_normalised(answers[b]) for b in (Backend.MLMD, Backend.NEO4J))
        assert mlmd == neo4j, (name, variables)
        _expected(name, variables, answers[Backend.MLMD], mixed)


def _data(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for page in pages:
        assert not page.get("errors"), page["errors"]
    return [page["data"] for page in pages]


def _expected(name: str, variables: dict[str, Any], pages: list[dict[str, Any]], m: Mixed) -> None:
    """What the data implies, where it implies something (an equal wrong answer on both
    backends is still wrong)."""
    if name == "models_by_image":
        [impact] = [d["impact"] for d in _data(pages)]
        assert {n["id"] for n in impact["nodes"]} == set(m.kfp_models)
        assert {n["run"]["id"] for n in impact["nodes"]} == set(m.kfp_runs)
    elif name == "snapshot_consumers":
        [snapshot] = [d["snapshot"] for d in _data(pages)]
        assert snapshot["id"] == variables["snapshot"]
        if variables["snapshot"] in m.input_snapshots:
            assert snapshot["sources"] and snapshot["consumers"]
            assert [r["id"] for r in snapshot["runs"]] == [m.kfp_runs[0]]
    elif name == "best_model":
        [best] = [d["bestModels"] for d in _data(pages)]
        assert best["runsScanned"] == 2
        if variables["pipeline"] == "training":
            assert {r["model"]["id"] for r in best["models"]} == set(m.kfp_models)
    elif name == "runs_of_pipeline":
        nodes = [n for d in _data(pages) for n in d["runs"]["nodes"]]
        expected = m.kfp_runs if variables["pipeline"] == "training" else m.tfx_runs
        assert sorted(n["id"] for n in nodes) == sorted(expected)
        assert all(n["models"] for n in nodes)
    elif name == "model_inputs":
        [data] = _data(pages)
        upstream = {n["id"] for n in data["lineage"]["nodes"]}
        model = variables["model"]
        if model in m.tfx_models or model in m.tfx_pushed:
            run = m.tfx_models.index(model) if model in m.tfx_models else m.tfx_pushed.index(model)
            assert m.tfx_examples[run] in upstream
        else:
            run = m.kfp_models.index(model)
            assert m.kfp_datasets[run] in upstream
            assert data["artifact"]["producer"]["image"]["digest"] == IMAGE
            if run == 0:  # --snapshot-inputs: the snapshot of what the trainer read
                assert m.dataset_snapshot in upstream
    elif name == "model_diff" and variables["from"] in m.tfx_models:
        [diff] = [d["diff"] for d in _data(pages)]
        assert diff["same"] is False and diff["entries"]
        assert {e["change"] for e in diff["entries"]} == {"CHANGED"}, diff["entries"]
    elif name == "model_diff" and variables["from"] in m.kfp_models:
        [diff] = [d["diff"] for d in _data(pages)]
        assert diff["same"] is False and diff["entries"]
    elif name == "data_to_model_path" and variables["from"] not in (*m.kfp_models, *m.tfx_models):
        # Data, or a snapshot of it, reaches the model it trained (two models: no path).
        [data] = _data(pages)
        assert data["path"]["found"] is True, variables
        assert data["path"]["reversed"] is False, variables  # along the data flow
    elif name == "run_overview":
        [run] = [d["run"] for d in _data(pages)]
        assert run["id"] == variables["run"] and run["tasks"]
        if run["id"] in m.kfp_runs:
            assert IMAGE in {t["image"]["digest"] for t in run["tasks"] if t["image"]}
        else:
            assert run["pipeline"]["name"] == TFX_PIPELINE
