"""``ingest mlmd`` reads KFP's MLMD where KFP keeps it: MySQL (MariaDB here) and the
metadata gRPC service; and it never writes to the source."""

from __future__ import annotations

import json
from pathlib import Path

from ml_metadata.metadata_store import metadata_store

from lineage.model import run_id, task_id
from tests.ingest.kfp_store import KfpStore, training_run
from tests.ingest.mlmd_helpers import fast_tmp, invoke, open_home

__all__ = ["fast_tmp"]

RUNS = ["8e9f0a1b-2c3d-4e5f-8a9b-000000000001", "8e9f0a1b-2c3d-4e5f-8a9b-000000000002"]


def _snapshot(mlmd: metadata_store.MetadataStore) -> tuple[object, ...]:
    """Everything a write could change, as MLMD reports it."""
    return (
        sorted(t.name for t in mlmd.get_context_types()),
        sorted(t.name for t in mlmd.get_execution_types()),
        sorted(t.name for t in mlmd.get_artifact_types()),
        sorted((c.id, c.last_update_time_since_epoch) for c in mlmd.get_contexts()),
        sorted((e.id, e.last_update_time_since_epoch) for e in mlmd.get_executions()),
        sorted((a.id, a.last_update_time_since_epoch) for a in mlmd.get_artifacts()),
    )


def test_a_kfp_store_in_mysql_is_read_and_left_untouched(mysql_url: str, fast_tmp: Path) -> None:
    kfp = KfpStore.mysql(mysql_url)
    for run in RUNS:
        training_run(kfp, run)
    before = _snapshot(kfp.mlmd)
    home = fast_tmp / "home"
    out = invoke(["ingest", "mlmd", "--mysql", mysql_url, "--json"], home)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["read"], report["written"], report["failed"]) == (2, 2, 0)
    assert "mysql://" in report["source"] and ":***@" not in report["source"]
    password = mysql_url.split("@")[0].rsplit(":", 1)[-1]
    assert not password or password not in out.stdout
    assert _snapshot(kfp.mlmd) == before
    store = open_home(home)
    try:
        for run in RUNS:
            record = store.get_run(run_id(run))
            assert {e.id for e in record.executions} == {
                task_id(run, p) for p in ("", "importer", "train", "evaluate")
            }
    finally:
        store.close()
    again = invoke(["ingest", "mlmd", "--mysql", mysql_url, "--json"], home)
    assert json.loads(again.stdout)["read"] == 0 and again.returncode == 0


def test_a_kfp_store_behind_the_metadata_grpc_service(fast_tmp: Path) -> None:
    from tests.services.mlmd_grpc import MlmdGrpcServer

    source = fast_tmp / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    for run in RUNS:
        training_run(kfp, run)
    server = MlmdGrpcServer(source)
    address = server.start()
    try:
        home = fast_tmp / "home"
        out = invoke(["ingest", "mlmd", "--grpc", address, "--json"], home)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert (report["read"], report["written"], report["source"]) == (
            2,
            2,
            f"mlmd grpc:{address}",
        )
        store = open_home(home)
        try:
            assert store.get_contexts([run_id(r) for r in RUNS])
        finally:
            store.close()
    finally:
        server.stop()
