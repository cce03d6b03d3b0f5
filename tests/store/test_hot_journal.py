"""A writer killed mid-transaction leaves a hot rollback journal; the next command recovers.

The journal is made the way a ``kill -9`` makes it: a process opens the store, changes
every row of a table inside a transaction with a one-page cache (so changed pages reach
the database file itself), and kills itself before it commits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lineage.store.connect import open_sqlite
from tests.kit.records import training_run

LINEAGE = [sys.executable, "-m", "lineage.cli"]

_KILLED_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size=1")
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE Context SET name = name || '-never-committed'")
conn.execute("DELETE FROM Event")
os.kill(os.getpid(), signal.SIGKILL)
"""


def leave_hot_journal(path: Path) -> Path:
    """Kill a writer of ``path`` mid-transaction; return the journal it leaves."""
    out = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], capture_output=True)
    assert out.returncode == -9, out.stderr
    journal = path.with_name(path.name + "-journal")
    assert journal.is_file() and journal.stat().st_size > 0
    return journal


def cli(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return subprocess.run([*LINEAGE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_next_command_rolls_back_a_hot_journal_and_works(tmp_path: Path) -> None:
    path = tmp_path / "mlmd.sqlite"
    store = open_sqlite(path)
    for run in ("r1", "r2", "r3"):
        store.put_run(training_run(run))
    store.close()
    before = cli(["store", "info", "--json"], tmp_path)
    assert before.returncode == 0, before.stderr

    journal = leave_hot_journal(path)
    after = cli(["store", "info", "--json"], tmp_path)

    assert after.returncode == 0, after.stderr
    assert "Traceback" not in after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)  # events back, nothing lost
    assert not journal.exists()
    store = open_sqlite(path)
    try:
        names = {c.name for c in store.get_contexts(["run:r1", "run:r2", "run:r3"])}
    finally:
        store.close()
    assert names == {"r1", "r2", "r3"}  # the uncommitted renames were rolled back
