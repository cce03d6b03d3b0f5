"""``kill -9`` in the middle of ``ingest mlmd``, then a re-run: complete, and no duplicates.

Each run is written in one transaction, and the watermark is saved only at the end, so
a re-run repeats the interrupted work idempotently. The result must equal one clean
ingest of the same source: the same ids by table (duplicates would show), the same
counts by type and events, and every run whole.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from lineage.model import run_id
from tests.ingest.kfp_store import KfpStore, training_run
from tests.ingest.mlmd_helpers import LINEAGE, fast_tmp, ingest, lineage_cli, open_home, store_ids

__all__ = ["fast_tmp"]

RUNS = 150  # at ~20 ms a run, the ingest lasts seconds: a wide window to kill it in
KILL_AFTER = 10  # runs visible in the store


def _runs_written(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM Context c JOIN Type t ON t.id = c.type_id "
                "WHERE t.name = 'system.PipelineRun'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # not created yet, or the writer holds the lock right now
    return int(row[0]) if row else 0


def test_kill_9_mid_ingest_then_rerun_equals_one_clean_ingest(fast_tmp: Path) -> None:
    source = fast_tmp / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    runs = [f"4d5e6f70-9999-4aaa-8bbb-{i:012d}" for i in range(RUNS)]
    for run in runs:
        training_run(kfp, run)
    del kfp

    home = fast_tmp / "home"
    target = home / "mlmd.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    proc = subprocess.Popen(
        [*LINEAGE, "ingest", "mlmd", "--sqlite", str(source), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while proc.poll() is None and time.monotonic() < deadline:
            seen = _runs_written(target)
            if seen >= KILL_AFTER:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the ingest ended ({proc.returncode}) before it could be killed mid-way "
        f"({seen} runs seen): {proc.stderr.read().decode() if proc.stderr else ''}"
    )
    if proc.stderr:
        proc.stderr.close()
    interrupted = _runs_written(target)
    assert KILL_AFTER <= interrupted < RUNS, interrupted

    rerun = lineage_cli(["ingest", "mlmd", "--sqlite", str(source), "--json"], home)
    assert rerun.returncode == 0, rerun.stderr

    clean_home = fast_tmp / "clean"
    clean = open_home(clean_home)
    assert ingest(source, clean).failed == 0
    killed = open_home(home)
    try:
        assert store_ids(target) == store_ids(clean_home / "mlmd.sqlite")
        assert killed.counts() == clean.counts()
        for run in runs:
            got, want = killed.get_run(run_id(run)), clean.get_run(run_id(run))
            assert {c.id: c.parents for c in got.contexts} == {
                c.id: c.parents for c in want.contexts
            }
            assert sorted(e.id for e in got.executions) == sorted(e.id for e in want.executions)
            assert sorted(a.id for a in got.artifacts) == sorted(a.id for a in want.artifacts)
            assert sorted(map(repr, got.events)) == sorted(map(repr, want.events))
            assert len(got.executions) == 4  # root, importer, train, evaluate
    finally:
        killed.close()
        clean.close()
