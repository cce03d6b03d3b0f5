"""One KFP run ingested from its MLMD store and from KFP's v2beta1 API gives the same nodes.

A property: hypothesis draws runs (containers, importers, nested pipelines, conditions
taken or not, ParallelFor loops, nested to two levels), renders each one as KFP's MLMD
writes it and as the API answers it (tests/ingest/recorded_run.py), ingests both into
two stores, and compares them node by node: ids, types, states, events, and on the
containers the image and namespace that both sources carry.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from lineage.ingest.kfp_api.client import KfpApiClient
from lineage.ingest.kfp_api.importer import KfpApiIngest
from lineage.model import KfpType, RunRecord, run_id
from tests.ingest.mlmd_helpers import ingest, open_home
from tests.ingest.recorded_run import RecordedRun, api_server, recorded_runs, write_mlmd


def _both_ways(run: RecordedRun, scratch: Path) -> tuple[RunRecord, RunRecord]:
    uris = write_mlmd(run, scratch / "kfp.sqlite")
    from_mlmd = open_home(scratch / "a")
    from_api = open_home(scratch / "b")
    server = api_server(run, uris, scratch / "api")
    try:
        assert ingest(scratch / "kfp.sqlite", from_mlmd).failed == 0
        with KfpApiClient(server.url, sleep=lambda _: None) as client:
            assert KfpApiIngest(client, from_api).run().failed == 0
        return from_mlmd.get_run(run_id(run.run_id)), from_api.get_run(run_id(run.run_id))
    finally:
        server.stop()
        from_mlmd.close()
        from_api.close()


def _nodes(record: RunRecord) -> dict[str, tuple[str, str]]:
    return {
        **{e.id: (str(e.type), str(e.state)) for e in record.executions},
        **{a.id: (str(a.type), "") for a in record.artifacts},
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=recorded_runs())
def test_the_same_run_gets_the_same_nodes_from_mlmd_and_from_the_api(run: RecordedRun) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="lineage-both-", dir=_scratch_root()))
    try:
        mlmd, api = _both_ways(run, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert _nodes(api) == _nodes(mlmd)
    assert {(e.execution, e.artifact, e.type, e.key) for e in api.events} == {
        (e.execution, e.artifact, e.type, e.key) for e in mlmd.events
    }
    containers = [e for e in mlmd.executions if e.type == KfpType.CONTAINER_EXECUTION]
    by_id = {e.id: e for e in api.executions}
    for ex in containers:
        for key in ("image", "namespace"):
            assert by_id[ex.id].properties.get(key) == ex.properties[key], (ex.id, key)


def _scratch_root() -> str | None:
    # MLMD fsyncs every commit: in memory when the machine has it (see fast_tmp).
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None
