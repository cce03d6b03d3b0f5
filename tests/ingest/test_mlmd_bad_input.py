"""A damaged KFP store: the broken run is named and left out whole, the others land."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from lineage.errors import BadInputError
from lineage.model import run_id
from tests.ingest.kfp_store import KfpStore, training_run
from tests.ingest.mlmd_helpers import fast_tmp, invoke, lineage_cli, open_home

__all__ = ["fast_tmp"]

BROKEN = "6c1d2e3f-aaaa-4bbb-8ccc-000000000001"
SOUND = "6c1d2e3f-aaaa-4bbb-8ccc-000000000002"


_LINKS = {
    "Artifact": (("ArtifactProperty", "artifact_id"), ("Attribution", "artifact_id")),
    "Execution": (("ExecutionProperty", "execution_id"), ("Association", "execution_id")),
}


def _delete(path: Path, table: str, row: int, *, sloppy: bool = False) -> None:
    """Damage the source as a manual cleanup would: remove a node and leave the events
    that point at it (``sloppy`` leaves its properties and attributions too)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"DELETE FROM {table} WHERE id = ?", (row,))
        if not sloppy:
            for linked, column in _LINKS[table]:
                conn.execute(f"DELETE FROM {linked} WHERE {column} = ?", (row,))
        conn.commit()
    finally:
        conn.close()


def _two_runs(path: Path) -> tuple[KfpStore, dict[str, int], dict[str, int]]:
    kfp = KfpStore.sqlite(path)
    broken = training_run(kfp, BROKEN)
    training_run(kfp, SOUND)
    ctx = kfp.mlmd.get_context_by_type_and_name("system.PipelineRun", BROKEN)
    tasks = {
        e.custom_properties["task_name"].string_value: e.id
        for e in kfp.mlmd.get_executions_by_context(ctx.id)
    }
    model = broken.kfp.mlmd.get_artifacts_by_uri(f"{broken.root_uri}/train/{tasks['train']}/model")[
        0
    ].id
    return kfp, tasks, {"model": model}


def _assert_run_absent(home: Path, run: str) -> None:
    store = open_home(home)
    try:
        assert store.get_contexts([run_id(run)]) == []
        ids = [e.id for e in store.list_executions(page_size=1000).items]
        assert not [i for i in ids if i.startswith(f"task:{run}/")]
        assert store.get_contexts([run_id(SOUND)])
    finally:
        store.close()


def test_an_event_to_a_missing_artifact_fails_that_run_alone(fast_tmp: Path) -> None:
    source = fast_tmp / "kfp.sqlite"
    _, _, arts = _two_runs(source)
    _delete(source, "Artifact", arts["model"])
    home = fast_tmp / "home"
    out = lineage_cli(["ingest", "mlmd", "--sqlite", str(source), "--json"], home)
    assert out.returncode == BadInputError.exit_code, out.stderr
    report = json.loads(out.stdout)
    assert (report["read"], report["written"], report["failed"]) == (2, 1, 1)
    [failure] = report["failures"]
    assert failure["unit"] == run_id(BROKEN)
    assert f"artifact row {arts['model']}" in failure["error"]
    assert "OUTPUT {model}" in failure["error"]
    assert run_id(BROKEN) in out.stderr and "Traceback" not in out.stderr
    _assert_run_absent(home, BROKEN)

    # The failed run is retried next time, and still refused while the source is damaged.
    again = invoke(["ingest", "mlmd", "--sqlite", str(source), "--json"], home)
    assert again.returncode == BadInputError.exit_code
    retried = json.loads(again.stdout)
    assert (retried["read"], retried["failed"]) == (1, 1)


def test_a_row_deleted_with_its_attributions_left_is_named_not_fatal(fast_tmp: Path) -> None:
    """MLMD itself aborts the process on such a row; the ingest must never ask for it."""
    source = fast_tmp / "kfp.sqlite"
    _, _, arts = _two_runs(source)
    _delete(source, "Artifact", arts["model"], sloppy=True)
    home = fast_tmp / "home"
    out = invoke(["ingest", "mlmd", "--sqlite", str(source), "--json"], home)
    assert out.returncode == BadInputError.exit_code, out.stderr
    [failure] = json.loads(out.stdout)["failures"]
    assert failure["unit"] == run_id(BROKEN)
    assert f"artifact row {arts['model']}" in failure["error"]
    _assert_run_absent(home, BROKEN)


def test_an_event_from_a_missing_execution_fails_the_run_of_its_artifact(
    fast_tmp: Path,
) -> None:
    source = fast_tmp / "kfp.sqlite"
    _, tasks, _ = _two_runs(source)
    # evaluate read the model; its execution goes, its INPUT event on the model stays.
    _delete(source, "Execution", tasks["evaluate"])
    home = fast_tmp / "home"
    out = invoke(["ingest", "mlmd", "--sqlite", str(source)], home)
    assert out.returncode == BadInputError.exit_code
    assert run_id(BROKEN) in out.stderr
    assert f"points at execution row {tasks['evaluate']}, which the source" in out.stderr
    assert "read 2, written 1" in out.stdout
    _assert_run_absent(home, BROKEN)


def test_bad_sources_are_refused_with_a_clear_error(fast_tmp: Path) -> None:
    home = fast_tmp / "home"
    none = invoke(["ingest", "mlmd"], home)
    assert none.returncode == 2 and "--sqlite PATH, --mysql URL or --grpc" in none.stderr
    both = invoke(["ingest", "mlmd", "--sqlite", "a", "--grpc", "h:1"], home)
    assert both.returncode == 2 and "--sqlite and --grpc" in both.stderr
    missing = invoke(["ingest", "mlmd", "--sqlite", str(fast_tmp / "nope.db")], home)
    assert missing.returncode == 2 and "nope.db" in missing.stderr
    plain = fast_tmp / "plain.sqlite"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    other = invoke(["ingest", "mlmd", "--sqlite", str(plain)], home)
    assert other.returncode == 3 and "not an ML Metadata store" in other.stderr
    itself = invoke(["ingest", "mlmd", "--sqlite", str(home / "mlmd.sqlite")], home)
    assert itself.returncode == 2 and "the lineage store itself" in itself.stderr
    since = invoke(["ingest", "mlmd", "--sqlite", str(plain), "--since", "yesterday"], home)
    assert since.returncode == 2 and "--since" in since.stderr
    grpc = invoke(["ingest", "mlmd", "--grpc", "no-port"], home)
    assert grpc.returncode == 2 and "host:port" in grpc.stderr


def _scramble_page(path: Path, index: str) -> None:
    """Damage one page for real: keep its header, scramble the cells at its end."""
    conn = sqlite3.connect(path)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,))
    finally:
        conn.close()
    data = bytearray(path.read_bytes())
    end = page[0] * size
    for i in range(end - 600, end):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))


def test_a_source_with_a_corrupt_page_is_refused_with_the_checks_message(
    fast_tmp: Path,
) -> None:
    source = fast_tmp / "kfp.sqlite"
    kfp = KfpStore.sqlite(source)
    for i in range(16):
        training_run(kfp, f"6c1d2e3f-aaaa-4bbb-8ccc-{i:012d}")
    del kfp
    # An index that no read of the ingest walks: the ingest alone would not notice.
    _scramble_page(source, "idx_eventpath_event_id")
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        (check,) = conn.execute("PRAGMA quick_check").fetchone()
    finally:
        conn.close()
    assert check != "ok"
    damaged = source.read_bytes()
    home = fast_tmp / "home"

    out = lineage_cli(["ingest", "mlmd", "--sqlite", str(source)], home)

    assert out.returncode == 3, out.stdout
    (line,) = out.stderr.strip().splitlines()
    first = next(x for x in check.splitlines() if not x.startswith("***"))
    assert line.startswith(f"error: {source} is a corrupt SQLite database: quick_check: {first}")
    assert "more problems" in line
    assert source.read_bytes() == damaged  # a source is only read
    assert not (home / "mlmd.sqlite").exists()  # refused before the store was opened
