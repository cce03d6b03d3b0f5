"""``ingest mlmd`` keeps a watermark per source and reads only what changed since."""

from __future__ import annotations

from pathlib import Path

from lineage.ingest.kfp_mlmd.importer import watermark_key
from lineage.ingest.kfp_mlmd.source_store import open_sqlite_source
from lineage.model import ExecutionState, run_id, task_id
from tests.ingest.kfp_store import KfpStore, training_run
from tests.ingest.mlmd_helpers import fast_tmp, ingest, open_home

__all__ = ["fast_tmp"]


def _runs(n: int) -> list[str]:
    return [f"7b2e0f4c-1111-4a5b-8c9d-{i:012d}" for i in range(n)]


def test_only_new_and_changed_runs_are_read(fast_tmp: Path) -> None:
    source = fast_tmp / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    first, second, third = _runs(3)
    late = training_run(kfp, first)
    training_run(kfp, second)
    store = open_home(fast_tmp / "home")
    assert ingest(source, store).read == 2
    assert store.get_state(watermark_key(open_sqlite_source(source)))

    idle = ingest(source, store)
    assert (idle.read, idle.written, idle.failed) == (0, 0, 0)

    old_ids = [run_id(first), task_id(first, "train"), run_id(second), task_id(second, "train")]
    stamps = store.stamps(old_ids)
    training_run(kfp, third)
    fresh = ingest(source, store)
    assert (fresh.read, fresh.written) == (1, 1)
    assert store.get_contexts([run_id(third)])
    assert store.stamps(old_ids) == stamps

    # KFP finishing a run late (the root DAG's state propagates) re-reads that run alone.
    late.finish("FAILED")
    changed = ingest(source, store)
    assert (changed.read, changed.written, changed.nodes_updated) == (1, 1, 1)
    [root] = store.get_executions([task_id(first, "")])
    assert root.state == ExecutionState.FAILED
    assert store.stamps([run_id(second)]) == {run_id(second): stamps[run_id(second)]}
    store.close()


def test_since_reads_from_a_given_time_and_leaves_the_watermark(fast_tmp: Path) -> None:
    source = fast_tmp / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    for run in _runs(2):
        training_run(kfp, run)
    store = open_home(fast_tmp / "home")
    far_future = 4_102_444_800_000  # 2100-01-01
    assert ingest(source, store, since_ms=far_future).read == 0
    assert store.get_state(watermark_key(open_sqlite_source(source))) is None
    assert ingest(source, store, since_ms=0).read == 2
    assert store.get_state(watermark_key(open_sqlite_source(source))) is None
    store.close()
