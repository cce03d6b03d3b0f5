"""The ``lineage snapshot`` commands, and snapshots as lineage nodes in a real store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.digest import tree_sha256
from lineage.model import (
    Artifact,
    Context,
    EventType,
    KfpType,
    LineageType,
    RunRecord,
    snapshot_id,
    snapshotting_id,
)
from lineage.snapshots.blobs import LocalBlobStore
from lineage.snapshots.lineage import (
    CONTENT_DIGEST,
    CONTENT_DIGEST_KIND,
    snapshot_artifact,
    with_content_digest,
)
from lineage.store.connect import open_sqlite

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"LINEAGE_HOME": str(tmp_path / "home")}


def make_data(root: Path) -> Path:
    (root / "part").mkdir(parents=True)
    (root / "part" / "0.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 40)
    (root / "schema.json").write_text('{"x": "int"}')
    return root


def test_cli_create_verify_restore_ls(tmp_path: Path, env: dict[str, str]) -> None:
    src = make_data(tmp_path / "src")
    created = runner.invoke(
        app, ["snapshot", "create", str(src), "--name", "v1", "--json"], env=env
    )
    assert created.exit_code == 0, created.output
    doc = json.loads(created.stdout)
    assert doc["id"] == snapshot_id(tree_sha256(src))
    assert (tmp_path / "home" / "snapshots" / "blobs" / "sha256").is_dir()  # the default store

    ok = runner.invoke(app, ["snapshot", "verify", doc["id"], str(src)], env=env)
    assert ok.exit_code == 0, ok.output

    (src / "schema.json").write_text('{"x": "str"}')
    bad = runner.invoke(app, ["snapshot", "verify", "v1", str(src)], env=env)
    assert bad.exit_code == 4
    assert str(src / "schema.json") in bad.output

    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "other").write_text("x")
    refused = runner.invoke(app, ["snapshot", "restore", "v1", str(dest)], env=env)
    assert refused.exit_code != 0 and "--force" in refused.output
    forced = runner.invoke(app, ["snapshot", "restore", "v1", str(dest), "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert (dest / "schema.json").read_text() == '{"x": "int"}'

    listed = runner.invoke(app, ["snapshot", "ls", "--json"], env=env)
    [entry] = json.loads(listed.stdout)
    assert (entry["id"], entry["names"], entry["files"]) == (doc["id"], ["v1"], 2)


def test_cli_store_option_takes_an_fsspec_url(tmp_path: Path, env: dict[str, str]) -> None:
    src = make_data(tmp_path / "src")
    url = f"memory://cli-{os.getpid()}-{tmp_path.name}"
    created = runner.invoke(
        app, ["snapshot", "create", str(src), "--store", url, "--json"], env=env
    )
    assert created.exit_code == 0, created.output
    root = json.loads(created.stdout)["root"]
    out = runner.invoke(
        app, ["snapshot", "restore", root, str(tmp_path / "o"), "--store", url], env=env
    )
    assert out.exit_code == 0, out.output
    assert tree_sha256(tmp_path / "o") == root
    assert not (tmp_path / "home" / "snapshots").exists()


def test_cli_refuses_escaping_symlink(tmp_path: Path, env: dict[str, str]) -> None:
    src = make_data(tmp_path / "src")
    os.symlink("../../etc", src / "part" / "up")
    result = runner.invoke(app, ["snapshot", "create", str(src)], env=env)
    assert result.exit_code == 4
    assert "escapes the snapshot root" in result.output


def test_snapshot_artifact_parts_are_stored_as_lineage(tmp_path: Path) -> None:
    src = make_data(tmp_path / "dataset")
    blobs = LocalBlobStore(tmp_path / "blobs")
    dataset = Artifact(
        "artifact:gs://bucket/run/dataset", KfpType.DATASET, uri="gs://bucket/run/dataset"
    )
    parts = snapshot_artifact(dataset, src, blobs)

    root = tree_sha256(src)
    assert parts.snapshot.id == snapshot_id(root)
    assert parts.snapshot.type == LineageType.SNAPSHOT
    assert parts.execution.id == snapshotting_id(dataset.id, parts.snapshot.id)
    assert parts.execution.type == LineageType.SNAPSHOT_EXECUTION
    assert [(e.type, e.artifact, e.path) for e in parts.events] == [
        (EventType.INPUT, dataset.id, ("source",)),
        (EventType.OUTPUT, parts.snapshot.id, ("snapshot",)),
    ]

    store = open_sqlite(tmp_path / "mlmd.sqlite")
    try:
        run = Context("run:r9", KfpType.PIPELINE_RUN, "r9")
        first = store.put_run(parts.record(dataset, (run,)))
        assert first.events_created == 2
        again = snapshot_artifact(dataset, src, blobs)  # same data: same ids, nothing new
        assert again.created.blobs_written == 0
        assert not store.put_run(again.record(dataset, (run,))).changed
        stored = store.get_run("run:r9")
        assert {a.id for a in stored.artifacts} == {dataset.id, parts.snapshot.id}
    finally:
        store.close()


def test_with_content_digest(tmp_path: Path) -> None:
    src = make_data(tmp_path / "d")
    art = Artifact("artifact:x", KfpType.DATASET, uri=str(src), properties={"display_name": "d"})
    digested = with_content_digest(art)
    assert digested.properties[CONTENT_DIGEST] == f"sha256:{tree_sha256(src)}"
    assert digested.properties[CONTENT_DIGEST_KIND] == "tree"
    assert digested.properties["display_name"] == "d"
    RunRecord(artifacts=(digested,)).validate()
