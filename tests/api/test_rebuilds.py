"""Rebuilds in GraphQL: the plan, the scorecard, the recorded rebuilds and the Rebuild node,
over two real runs (the second standing for the rebuild), each answer checked against
the store; and namespace scoping: a rebuild shows only to a token that sees every
artifact it compared."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.cli.main import app as cli_app
from lineage.model import KfpType, RunRecord
from lineage.rebuild.record import record_rebuild
from lineage.settings import Settings
from lineage.store.connect import open_sqlite
from tests.api.conftest import book, codes, gql
from tests.rebuild.rebuilt import CAVEAT, TwoRuns, two_runs

TOKENS = (
    "tokens:\n"
    "  - {subject: local, token: tok-local, namespaces: [local]}\n"
    "  - {subject: b, token: tok-b, namespaces: [team-b]}\n"
    "  - {subject: audit, token: tok-audit, auditor: true}\n"
)


@dataclasses.dataclass
class Scene:
    client: TestClient
    runs: TwoRuns
    rebuild: str  # both runs in ``local``
    split: str  # a second rebuild whose rebuilt run was moved to ``team-b``


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    base = tmp_path_factory.mktemp("api-rebuilds")
    runs = two_runs(base / "runs")
    # A third run, moved to another namespace, stands for a rebuild made there.
    moved = two_runs(base / "moved")
    home = runs.home
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        rid = record_rebuild(store, runs.result())
        store.put_run(_in_namespace(moved.store().get_run(f"run:{moved.rebuilt['run_id']}")))
        other = TwoRuns(home, runs.original, moved.rebuilt)
        split = record_rebuild(store, other.result(environment="c"))
    finally:
        store.close()
    (home / "tokens.yaml").write_text(TOKENS)
    settings = Settings(home=home)
    with open_shared(settings, ApiSettings()) as shared:
        api = create_app(
            settings, ApiSettings(token_file=home / "tokens.yaml"), shared=shared, audit=False
        )
        with TestClient(api) as client:
            yield Scene(client, runs, rid, split)


def _in_namespace(record: RunRecord, namespace: str = "team-b") -> RunRecord:
    """The run as if made in another namespace (its context and its tasks say so)."""

    def moved(props: Any) -> dict[str, Any]:
        return {**props, "namespace": namespace}

    return dataclasses.replace(
        record,
        contexts=tuple(
            dataclasses.replace(c, properties=moved(c.properties))
            if c.type == KfpType.PIPELINE_RUN
            else c
            for c in record.contexts
        ),
        executions=tuple(
            dataclasses.replace(e, properties=moved(e.properties))
            if "namespace" in e.properties
            else e
            for e in record.executions
        ),
    )


def _ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert not answer.get("errors"), answer.get("errors")
    data: dict[str, Any] = answer["data"]
    return data


def _model(scene: Scene) -> str:
    return str(scene.runs.artifact("original", "fit", "model")["id"])


def test_the_plan_is_the_one_the_cli_writes(scene: Scene) -> None:
    data = _ok(gql(scene.client, book("rebuild_plan"), {"model": _model(scene)}, "tok-audit"))
    plan = data["rebuildPlan"]
    out = CliRunner().invoke(
        cli_app,
        ["rebuild", "plan", _model(scene), "--allow-gaps", "--json"],
        env={"LINEAGE_HOME": str(scene.runs.home)},
    )
    assert out.exit_code == 0, out.output
    written = json.loads(out.stdout)
    assert plan["planId"] == written["id"] == plan["document"]["id"]
    assert plan["document"] == written
    assert [g["kind"] for g in plan["gaps"]] == [g["kind"] for g in written["gaps"]]


def test_rebuilds_and_the_scorecard_answer_from_the_record(scene: Scene) -> None:
    data = _ok(gql(scene.client, book("model_rebuilds"), {"model": _model(scene)}, "tok-audit"))
    listed = data["rebuilds"]
    assert {r["id"] for r in listed} == {scene.rebuild, scene.split}
    mine = next(r for r in listed if r["id"] == scene.rebuild)
    result = scene.runs.result()
    assert (mine["verdict"], mine["hermetic"], mine["environment"]) == ("IDENTICAL", False, "b")
    assert mine["caveats"] == [CAVEAT] and mine["runId"] == result.run
    assert [(o["original"], o["rebuilt"], o["verdict"]) for o in mine["outputs"]] == [
        (o.original, o.rebuilt, "IDENTICAL") for o in result.outputs
    ]
    card = data["hermeticity"]
    assert card["hermetic"] is False and card["gaps"]  # kfp.local's runner is a gap
    # The last rebuild is the one that finished last (both finished at the same time
    # here: then the one recorded last), and a caveat keeps it from being hermetic.
    assert card["lastRebuildSummary"] == f"identical in c ({scene.split}); not hermetic"
    # A token that does not see that one is shown the last it sees.
    local = gql(scene.client, book("model_rebuilds"), {"model": _model(scene)}, "tok-local")
    summary = _ok(local)["hermeticity"]["lastRebuildSummary"]
    assert summary == f"identical in b ({scene.rebuild}); not hermetic"


def test_a_rebuild_is_a_lineage_node(scene: Scene) -> None:
    query = "query($id: ID!) { node(id: $id) { id kind ... on Rebuild { verdict plan } } }"
    data = _ok(gql(scene.client, query, {"id": scene.rebuild}, "tok-local"))
    assert data["node"]["kind"] == "REBUILD" and data["node"]["verdict"] == "IDENTICAL"
    walk = (
        "query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM, depth: 1) "
        "{ nodes { id kind } edges { source target kind key } } }"
    )
    rebuilt = scene.runs.artifact("rebuilt", "fit", "model")["id"]
    graph = _ok(gql(scene.client, walk, {"id": _model(scene)}, "tok-local"))["lineage"]
    assert {
        "source": _model(scene),
        "target": rebuilt,
        "kind": "REBUILT_FROM",
        "key": scene.rebuild,
    } in graph["edges"]


def test_a_rebuild_shows_only_to_a_token_that_sees_both_sides(scene: Scene) -> None:
    query = "query($m: ID) { rebuilds(modelId: $m) { id } }"
    seen = {
        token: {r["id"] for r in _ok(gql(scene.client, query, {"m": None}, token))["rebuilds"]}
        for token in ("tok-audit", "tok-local", "tok-b")
    }
    assert seen == {
        "tok-audit": {scene.rebuild, scene.split},
        "tok-local": {scene.rebuild},  # the split rebuild's copy is in team-b
        "tok-b": set(),  # team-b sees no original
    }
    by_id = "query($id: ID!) { rebuild(id: $id) { id } }"
    assert codes(gql(scene.client, by_id, {"id": scene.split}, "tok-local")) == ["NOT_FOUND"]
    unknown = gql(scene.client, by_id, {"id": "rebuild:" + "0" * 64}, "tok-local")
    assert codes(unknown) == ["NOT_FOUND"]
    # Team-b cannot see the model: its plan and scorecard are as absent as an unknown id.
    plan = gql(scene.client, book("rebuild_plan"), {"model": _model(scene)}, "tok-b")
    assert codes(plan) == ["NOT_FOUND"]


def test_the_page_size_of_rebuilds_is_bounded(scene: Scene) -> None:
    query = "{ rebuilds(first: 100000) { id } }"
    assert codes(gql(scene.client, query, None, "tok-audit")) == ["LIMIT_EXCEEDED"]
