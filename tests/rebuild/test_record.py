"""A rebuild's record in the store: one ``lineage.Rebuild`` execution, read back whole,
written once however often it is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lineage.cli.main import app
from lineage.errors import BadInputError
from lineage.model import EventType, ExecutionState, LineageType
from lineage.rebuild.record import rebuild_id, record_rebuild, result_of
from lineage.rebuild.verdict import Verdict
from lineage.store.mlmd import MlmdStore
from tests.rebuild.rebuilt import TwoRuns, two_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    return two_runs(tmp_path_factory.mktemp("rebuild-record"))


@pytest.fixture
def store(runs: TwoRuns) -> Iterator[MlmdStore]:
    store = runs.store()
    yield store
    store.close()


def test_the_record_holds_the_result_and_reads_back_equal(runs: TwoRuns, store: MlmdStore) -> None:
    result = runs.result()
    assert result.verdict is Verdict.IDENTICAL  # the pipeline is deterministic
    rid = record_rebuild(store, result)
    assert rid == rebuild_id(result.plan_id, "b", result.run)
    assert rid.startswith("rebuild:") and len(rid) == len("rebuild:") + 64
    [execution] = store.get_executions([rid])
    assert execution.type == LineageType.REBUILD
    assert execution.state is ExecutionState.COMPLETE
    props = execution.properties
    assert props["plan_id"] == result.plan_id and props["environment"] == "b"
    assert props["runner"] == "lineage.SubprocessRunner" and props["verdict"] == "identical"
    assert props["hermetic"] is False  # a caveat: never hermetic
    assert result_of(props) == result


def test_each_output_is_read_as_original_and_rebuilt(runs: TwoRuns, store: MlmdStore) -> None:
    result = runs.result()
    rid = record_rebuild(store, result)
    events = store.get_events(execution_ids=[rid])
    assert {e.type for e in events} == {EventType.INPUT}
    pairs = {(e.path, e.artifact) for e in events}
    for index, output in enumerate(result.outputs):
        assert (("original", index), output.original) in pairs
        assert (("rebuilt", index), output.rebuilt) in pairs
    assert len(events) == 2 * len(result.outputs)


def test_recording_twice_changes_nothing(runs: TwoRuns, store: MlmdStore) -> None:
    result = runs.result()
    record_rebuild(store, result)
    before = store.counts().as_dict()
    assert record_rebuild(store, result) == rebuild_id(result.plan_id, "b", result.run)
    assert store.counts().as_dict() == before


def test_an_unknown_artifact_is_refused_and_nothing_is_written(
    runs: TwoRuns, store: MlmdStore
) -> None:
    result = runs.result()
    broken = (replace(result.outputs[0], rebuilt="artifact:/nowhere"),)
    before = store.counts().as_dict()
    with pytest.raises(BadInputError, match="artifact:/nowhere"):
        record_rebuild(store, runs.result(environment="c", outputs=broken))
    assert store.counts().as_dict() == before


def cli(runs: TwoRuns, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"LINEAGE_HOME": str(runs.home)})


def test_ls_lists_rebuilds_newest_first(runs: TwoRuns, store: MlmdStore) -> None:
    older = record_rebuild(store, runs.result(environment="c", finished="2026-01-01T00:00:30Z"))
    newer = record_rebuild(store, runs.result())
    model = runs.artifact("original", "fit", "model")["id"]
    out = cli(runs, "rebuild", "ls", model, "--json")
    assert out.exit_code == 0, out.output
    listed = [r["id"] for r in json.loads(out.stdout)]
    assert listed.index(newer) < listed.index(older)
    first = json.loads(out.stdout)[listed.index(newer)]
    assert (first["verdict"], first["hermetic"], first["environment"]) == ("identical", False, "b")
    # The rebuilt model lists the rebuild that compared it; an unrelated artifact none.
    rebuilt = runs.artifact("rebuilt", "fit", "model")["id"]
    assert newer in [
        r["id"] for r in json.loads(cli(runs, "rebuild", "ls", rebuilt, "--json").stdout)
    ]
    assert json.loads(cli(runs, "rebuild", "ls", "artifact:/elsewhere", "--json").stdout) == []
    table = cli(runs, "rebuild", "ls")
    assert table.exit_code == 0 and "identical" in table.stdout


def test_verify_agrees_until_the_bytes_change(runs: TwoRuns, store: MlmdStore) -> None:
    rid = record_rebuild(store, runs.result())
    out = cli(runs, "rebuild", "verify", rid, "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert (report["verdict"], report["changed"]) == ("identical", False)
    assert all(o["digest"] == o["expected_digest"] for o in report["outputs"])
    model = Path(runs.artifact("rebuilt", "fit", "model")["uri"])
    kept = model.read_bytes()
    try:
        model.write_bytes(kept + b"tampered\n")
        out = cli(runs, "rebuild", "verify", rid, "--json")
        assert out.exit_code == 1
        report = json.loads(out.stdout)
        assert (report["verdict"], report["changed"]) == ("divergent", True)
        [changed] = [o for o in report["outputs"] if o["verdict"] != o["recorded_verdict"]]
        assert changed["output"] == "model" and changed["verdict"] == "divergent"
        model.unlink()
        gone = cli(runs, "rebuild", "verify", rid)
        assert gone.exit_code == 1 and "missing" in gone.stdout
    finally:
        model.write_bytes(kept)


def test_an_unknown_rebuild_id_is_one_line_and_a_non_zero_exit(runs: TwoRuns) -> None:
    for bad in ("rebuild:" + "f" * 64, "run:nothing"):
        out = cli(runs, "rebuild", "verify", bad)
        assert out.exit_code != 0
        assert out.output.strip().count("\n") == 0 and bad in out.output


def test_lineage_of_a_rebuilt_model_shows_its_original_and_the_rebuild(
    runs: TwoRuns, store: MlmdStore
) -> None:
    rid = record_rebuild(store, runs.result())
    original = runs.artifact("original", "fit", "model")["id"]
    rebuilt = runs.artifact("rebuilt", "fit", "model")["id"]
    out = cli(runs, "lineage", rebuilt, "--both", "--json")
    assert out.exit_code == 0, out.output
    answer = json.loads(out.stdout)
    kinds = {n["id"]: n["kind"] for n in answer["nodes"]}
    assert kinds[original] == "Artifact" and kinds[rid] == "Rebuild"
    edges = {(e["source"], e["target"], e["kind"], e.get("key")) for e in answer["edges"]}
    assert (original, rebuilt, "REBUILT_FROM", rid) in edges
    assert (rebuilt, rid, "INPUT", "rebuilt") in edges
