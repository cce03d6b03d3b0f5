"""``ingest kfp``: pipeline versions and run-level facts from the KFP v2beta1 API.

These tests replay recorded responses (tests/fixtures/kfp_api, shaped like KFP's v2beta1
swagger) from a local HTTP server on 127.0.0.1: no KFP cluster can run here. The client,
paging, retries, the watermark and the store are all real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineage.ingest.kfp_api.client import KfpApiClient
from lineage.ingest.kfp_api.importer import KfpApiIngest
from lineage.ingest.report import IngestReport
from lineage.ingest.spec import parse_spec
from lineage.model import KfpType, LineageType, pipeline_id, recurring_run_id, run_id
from lineage.store.mlmd import MlmdStore
from tests.ingest.mlmd_helpers import fast_tmp, open_home
from tests.services.kfp_api_replay import FIXTURES, MLMD_ERA, ReplayServer

__all__ = ["fast_tmp"]

ERA = FIXTURES / "mlmd_era"
DONE = "5f0c1d9e-2b7a-4c41-9a57-3f3e5d2c1a01"
RUNNING = "5f0c1d9e-2b7a-4c41-9a57-3f3e5d2c1a02"
FAILED = "5f0c1d9e-2b7a-4c41-9a57-3f3e5d2c1a03"
V1 = "7a1e0c22-vers-4b8e-8f00-000000000001"
V2 = "7a1e0c22-vers-4b8e-8f00-000000000002"


def _recorded(name: str) -> dict[str, Any]:
    return json.loads((ERA / name).read_text())  # type: ignore[no-any-return]


def _spec_ids() -> dict[str, str]:
    """The content id of each recorded version, computed from the recording itself."""
    out = {}
    for page in ("pipeline_versions.page1.json", "pipeline_versions.page2.json"):
        for version in _recorded(page)["pipeline_versions"]:
            spec = version["pipeline_spec"]
            spec, platform = (
                (spec["pipeline_spec"], spec.get("platform_spec"))
                if "pipeline_spec" in spec
                else (spec, None)
            )
            out[version["pipeline_version_id"]] = parse_spec(spec, platform).id
    return out


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer.of("mlmd_era", MLMD_ERA).start()
    server.serve(f"runs/{RUNNING}", "run_running.json")
    yield server
    server.stop()


@pytest.fixture
def store(fast_tmp: Path) -> Iterator[MlmdStore]:
    opened = open_home(fast_tmp / "home")
    yield opened
    opened.close()


def run_ingest(server: ReplayServer, store: MlmdStore, **options: Any) -> IngestReport:
    with KfpApiClient(server.url, retries=2, sleep=lambda _: None) as client:
        return KfpApiIngest(client, store, **options).run()


def test_versions_are_recorded_from_their_unwrapped_specs(
    replay: ReplayServer, store: MlmdStore
) -> None:
    report = run_ingest(replay, store)
    # 2 versions, 2 recurring runs, 3 runs
    assert (report.read, report.written, report.failed) == (7, 7, 0)
    ids = _spec_ids()
    assert ids[V1] != ids[V2]
    [v1, v2] = store.get_contexts([ids[V1], ids[V2]])
    assert v1.type == LineageType.PIPELINE_VERSION
    assert v1.parents == (pipeline_id("training-pipeline"),)
    assert v1.properties["kfp_pipeline_versions"][V1]["display_name"] == "v1"  # type: ignore[index]
    assert "platform_spec" in v1.properties  # it arrived wrapped with the pipeline spec
    assert "platform_spec" not in v2.properties
    [pipeline] = store.get_contexts([pipeline_id("training-pipeline")])
    kfp_pipelines = pipeline.properties["kfp_pipelines"]
    assert kfp_pipelines == {MLMD_ERA_PIPELINE_ID: {"display_name": "Training"}}
    # Both pages of versions and of runs were read.
    assert [h.query.get("page_token", "") for h in replay.hits("runs")] == ["", "runs-2"]


MLMD_ERA_PIPELINE_ID = "0b6c3f51-pipe-4e7a-9c11-000000000001"


def test_run_facts_land_on_the_run_context(replay: ReplayServer, store: MlmdStore) -> None:
    run_ingest(replay, store)
    ids = _spec_ids()
    done, running, failed = store.get_contexts([run_id(DONE), run_id(RUNNING), run_id(FAILED)])
    assert (done.type, done.name) == (KfpType.PIPELINE_RUN, DONE)
    assert done.parents == (pipeline_id("training-pipeline"), ids[V1])
    assert running.parents == (
        pipeline_id("training-pipeline"),
        ids[V2],
        recurring_run_id("aaaa0000-recu-4000-8000-000000000001"),
    )
    recorded = _recorded("runs.page1.json")["runs"][0]
    assert done.properties["state"] == "SUCCEEDED"
    assert done.properties["runtime_config"] == recorded["runtime_config"]
    assert done.properties["pipeline_version_id"] == V1
    assert done.properties["experiment"] == "iris-nightly"
    assert (done.properties["created_at"], done.properties["finished_at"]) == (
        recorded["created_at"],
        recorded["finished_at"],
    )
    assert running.properties["recurring_run"] == "nightly-train"
    assert running.properties["runtime_config"]["parameters"] == {"learning_rate": 0.2}  # type: ignore[index]
    assert failed.properties["error"]["message"] == "task train failed: exit code 1"  # type: ignore[index]
    # task_details (built from Argo nodes, no execution ids) are not lineage: MLMD is.
    assert store.counts().executions == 0


def test_api_facts_join_mlmd_lineage_without_clobbering_it(
    replay: ReplayServer, store: MlmdStore, fast_tmp: Path
) -> None:
    from tests.ingest.kfp_store import KfpStore, training_run
    from tests.ingest.mlmd_helpers import ingest

    source = fast_tmp / "kfp.sqlite"
    training_run(KfpStore.sqlite(source), DONE, pipeline="training-pipeline")
    ingest(source, store)
    nodes = [e.id for e in store.get_run(run_id(DONE)).executions]
    stamps = store.stamps(nodes)
    run_ingest(replay, store)
    [ctx] = store.get_contexts([run_id(DONE)])
    assert ctx.properties["state"] == "SUCCEEDED"  # from the API
    assert str(ctx.properties["pipeline_root"]).endswith(DONE)  # from MLMD, kept
    assert set(_spec_ids().values()) & set(ctx.parents)
    assert store.stamps(nodes) == stamps
    # And the other way round: MLMD read again keeps what the API joined.
    again = ingest(source, store, full=True)
    assert again.failed == 0
    [ctx] = store.get_contexts([run_id(DONE)])
    assert (ctx.properties["state"], ctx.properties["experiment"]) == ("SUCCEEDED", "iris-nightly")
    [pipeline] = store.get_contexts([pipeline_id("training-pipeline")])
    assert MLMD_ERA_PIPELINE_ID in pipeline.properties["kfp_pipelines"]  # type: ignore[operator]
    assert {e.id for e in store.get_run(run_id(DONE)).executions} == set(nodes)


def test_only_new_runs_and_state_changes_are_read_again(
    replay: ReplayServer, store: MlmdStore
) -> None:
    run_ingest(replay, store)
    idle = run_ingest(replay, store)
    assert (idle.read, idle.written, idle.failed) == (0, 0, 0)
    # The unfinished run is watched; versions are immutable and not fetched again.
    assert len(replay.hits(f"runs/{RUNNING}")) == 1
    assert len(replay.hits(f"pipelines/{MLMD_ERA_PIPELINE_ID}/versions")) == 4
    replay.serve(f"runs/{RUNNING}", "run_running_finished.json")
    replay.serve("runs", {"": "runs.page1.json", "runs-2": "runs.page2.finished.json"})
    moved = run_ingest(replay, store)
    assert (moved.read, moved.written) == (1, 1)
    [running] = store.get_contexts([run_id(RUNNING)])
    assert running.properties["state"] == "SUCCEEDED"
    assert run_ingest(replay, store).read == 0


def test_5xx_and_429_are_retried_then_succeed(replay: ReplayServer, store: MlmdStore) -> None:
    replay.fail("runs", 503, b'{"error":"busy"}')
    replay.fail("runs", 429, b"")
    report = run_ingest(replay, store)
    assert report.failed == 0 and report.written == 7
    assert len(replay.hits("runs")) == 4  # two refusals, then both pages
