"""``kill -9`` in the middle of ``ingest mlmd``, then a re-run: complete, and no duplicates.

Each run is written in one transaction, and the watermark is saved only at the end, so
a re-run repeats the interrupted work idempotently. The result must equal one clean
ingest of the same source: the same ids by table (duplicates would show), the same
counts by type and events, and every run whole.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.model import run_id
from tests.ingest.cli_forks import CliForks
from tests.ingest.kfp_store import KfpStore, training_run
from tests.ingest.mlmd_helpers import LINEAGE, fast_tmp, ingest, lineage_cli, open_home, store_ids
from tests.pipelines import compile_all, local

__all__ = ["fast_tmp"]

RUNS = 150  # at ~20 ms a run, the ingest lasts seconds: a wide window to kill it in
KILL_AFTER = 10  # runs visible in the store


def _runs_written(path: Path, recover: bool = False) -> int:
    """Runs committed so far. While the ingest runs, read-only; after a kill, ``recover``
    opens read-write, as the next command does: a kill inside a transaction leaves a hot
    rollback journal that only a read-write connection rolls back (a read-only one
    fails, which would read as nothing written)."""
    if not path.exists():
        return 0
    try:
        mode, wait = ("rw", 5.0) if recover else ("ro", 0.05)
        conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=wait)
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
    interrupted = _runs_written(target, recover=True)
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


# --- a hundred kills at random points across ingest spec, ingest mlmd and lineage run -----

# 100 in all. kfp.local starts a Python process per task, so a run lives seconds
# where an ingest lives a fraction of one: fewer kills of it keep the test short.
KILLS = {"spec": 40, "mlmd": 40, "run": 20}
ROUNDS = 4  # a fresh store each round; each round kills each command its share of times
SOURCE_RUNS = 40


@dataclass(frozen=True)
class Commands:
    spec: list[str]
    mlmd: list[str]
    run: list[str]

    def of(self, kind: str) -> list[str]:
        args: list[str] = getattr(self, kind)
        return args


def _commands(base: Path) -> Commands:
    specs = compile_all(base / "specs")
    source = base / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    for i in range(SOURCE_RUNS):
        training_run(kfp, f"5e6f7081-aaaa-4bbb-8ccc-{i:012d}")
    del kfp
    return Commands(
        spec=["ingest", "spec", *(str(p) for p in specs.values())],
        mlmd=["ingest", "mlmd", "--sqlite", str(source), "--json"],
        run=["run", f"{local.__file__}:prepare", "--pipeline-root", str(base / "out"), "--json"],
    )


def _local_runs(path: Path, known: set[str]) -> list[str]:
    """The run ids of ``lineage run``'s runs: run contexts the other sources do not make."""
    ids = store_ids(path)["Context"]
    return [i.removeprefix("run:") for i in ids if i.startswith("run:") and i not in known]


def _shape(path: Path, local_runs: list[str]) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """The ids of everything but the local runs, and each local run's ids with its run id
    replaced: kfp.local names each run by the time it started, so only shapes can match."""
    ids = store_ids(path)
    rest = {t: [i for i in v if not any(r in i for r in local_runs)] for t, v in ids.items()}
    runs = [
        {t: sorted(i.replace(r, "RUN") for i in v if r in i) for t, v in ids.items()}
        for r in local_runs
    ]
    return rest, runs


def test_a_hundred_kills_across_spec_mlmd_and_run_then_one_clean_ingest(
    fast_tmp: Path,
) -> None:
    rng = random.Random(17)
    commands = _commands(fast_tmp)
    forks = CliForks(fast_tmp)
    try:
        clean = fast_tmp / "clean"
        clean_took: dict[str, float] = {}
        for kind in KILLS:
            done = forks.run(commands.of(kind), clean)
            assert done.code == 0, done.log[-3000:]
            clean_took[kind] = done.seconds
        mlmd_runs = {f"run:5e6f7081-aaaa-4bbb-8ccc-{i:012d}" for i in range(SOURCE_RUNS)}
        clean_local = _local_runs(clean / "mlmd.sqlite", mlmd_runs)
        assert len(clean_local) == 1
        want_rest, (want_run,) = _shape(clean / "mlmd.sqlite", clean_local)

        kills = 0
        for round_ in range(ROUNDS):
            home = fast_tmp / f"round-{round_}"
            took = dict(clean_took)  # a fresh store: the first command lives longest
            for kind in rng.sample(sorted(KILLS), len(KILLS)):
                share = KILLS[kind] // ROUNDS + (round_ < KILLS[kind] % ROUNDS)
                killed = 0
                while killed < share:
                    # A random point anywhere in the command's life, start-up included.
                    out = forks.run(commands.of(kind), home, rng.uniform(0, took[kind]))
                    if not out.killed:
                        assert out.code == 0, out.log[-3000:]
                        took[kind] = out.seconds  # the span of a re-run, which may be shorter
                        continue
                    killed += 1
                    after = forks.run(["store", "info", "--json"], home)
                    assert after.code == 0, (kind, after.log[-3000:])
                    assert "Traceback" not in after.log
                kills += killed
                done = forks.run(commands.of(kind), home)  # the next command, unaided
                assert done.code == 0, (kind, done.log[-3000:])
                assert "Traceback" not in done.log
            target = home / "mlmd.sqlite"
            local = _local_runs(target, mlmd_runs)
            got_rest, got_runs = _shape(target, local)
            assert got_rest == want_rest  # the specs and the MLMD runs: one clean ingest
            assert local  # the completed run at least, and every other one whole
            assert all(run == want_run for run in got_runs)
        assert kills == sum(KILLS.values())
    finally:
        forks.close()
