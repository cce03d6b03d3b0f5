"""Recording a local run without running one: digests, KFP's metadata conversion, importer reuse."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lineage.digest import tree_sha256
from lineage.ingest.kfp_local.digest import digest_of
from lineage.ingest.kfp_local.facts import LocalRun, ObservedArtifact, ObservedTask
from lineage.ingest.kfp_local.record import run_record
from lineage.model import Artifact, ExecutionState, artifact_id, task_id


def test_a_file_gets_its_sha256_and_a_directory_its_merkle_root(tmp_path: Path) -> None:
    file = tmp_path / "model.bin"
    file.write_bytes(b"\x00weights" * 1000)
    fact = digest_of(str(file))
    assert (fact.digest, fact.kind, fact.absent) == (
        "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest(),
        "file",
        None,
    )
    tree = tmp_path / "shards"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "part-0").write_text("zero")
    (tree / "part-1").write_text("one")
    fact = digest_of(str(tree))
    assert (fact.digest, fact.kind) == (f"sha256:{tree_sha256(tree)}", "tree")
    (tree / "a" / "part-0").write_text("changed")
    assert digest_of(str(tree)).digest != fact.digest


def test_no_digest_is_ever_guessed(tmp_path: Path) -> None:
    for uri, reason in (
        (str(tmp_path / "never-written"), "nothing was written"),
        ("gs://bucket/data.csv", "remote URI"),
    ):
        fact = digest_of(uri)
        assert fact.digest is None and fact.kind is None
        assert fact.absent is not None and reason in fact.absent


def observed_run(uri: str, imported_type: str) -> LocalRun:
    uid = artifact_id(uri)
    return LocalRun(
        run_id="p-1",
        job_id="42",
        pipeline="p",
        spec_id="spec:sha256:" + "0" * 64,
        pipeline_root="/root",
        run_root="/root/p-1",
        arguments={},
        state=ExecutionState.COMPLETE,
        tasks=(
            ObservedTask("", "", "p-1", "root", None, ExecutionState.COMPLETE, total_tasks=2),
            ObservedTask(
                "importer",
                "importer",
                "importer",
                "importer",
                "",
                ExecutionState.COMPLETE,
                output_artifacts=(("artifact", uid),),
            ),
            ObservedTask(
                "use",
                "use",
                "use",
                "container",
                "",
                ExecutionState.COMPLETE,
                input_artifacts=(("data", uid),),
                image="python:3.11",
            ),
        ),
        artifacts={
            uid: ObservedArtifact(
                key="artifact",
                type=imported_type,
                uri=uri,
                metadata={"ok": True, "tags": ["a"], "nested": {"k": 1}, "n": 3, "none": None},
                digest="sha256:" + "1" * 64,
                digest_kind="file",
            )
        },
    )


def test_metadata_is_stored_as_kfps_launcher_stores_it() -> None:
    record = run_record(observed_run("/lake/raw.csv", "system.Dataset"))
    (art,) = record.artifacts
    assert art.properties["ok"] == 1 and art.properties["n"] == 3.0
    assert isinstance(art.properties["n"], float)
    assert art.properties["tags"] == {"list": ["a"]}
    assert art.properties["nested"] == {"struct": {"k": 1}}
    assert "none" not in art.properties
    assert "display_name" not in art.properties  # KFP's importer sets none


def test_an_importer_reuses_a_stored_artifact_of_its_type_and_not_of_another() -> None:
    uri = "/lake/raw.csv"
    stored = Artifact(
        id=artifact_id(uri),
        type="system.Dataset",
        uri=uri,
        properties={"display_name": "dataset", "rows": 10.0},
    )
    same = run_record(observed_run(uri, "system.Dataset"), stored={stored.id: stored})
    assert same.artifacts == (stored,)
    other = run_record(observed_run(uri, "system.Model"), stored={stored.id: stored})
    (art,) = other.artifacts
    assert art.id != stored.id and art.type == "system.Model" and art.uri == uri
    use = task_id("p-1", "use")
    assert {(e.execution, e.artifact) for e in other.events} == {
        (task_id("p-1", "importer"), art.id),
        (use, art.id),
    }
