"""``--digest-artifacts``: the content digest of what KFP recorded by URI, or why there is none.

Real files (``file://``) and fsspec's in-memory filesystem stand for the object stores;
a URI whose filesystem is not installed or holds nothing stands for an unreachable one.
The digests are checked against hashlib and against the snapshot digest function.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import fsspec
import pytest

from lineage.digest import content_digest, tree_sha256
from lineage.ingest.artifact_digest import ArtifactDigester, DigestOptions
from lineage.model import KfpType, artifact_id, run_id
from lineage.store.mlmd import MlmdStore
from tests.ingest.kfp_store import KfpStore
from tests.ingest.mlmd_helpers import RUN_A, fast_tmp, invoke, open_home
from tests.services.kfp_api_replay import NATIVE, ReplayServer

__all__ = ["fast_tmp"]


def _source(tmp: Path) -> dict[str, str]:
    """A KFP store whose run wrote real files; returns URIs by role."""
    data = tmp / "data" / "iris.csv"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"sepal,petal\n5.1,1.4\n" * 10)
    kfp = KfpStore.sqlite(tmp / "kfp.sqlite")
    run = kfp.run(RUN_A, pipeline_root=f"file://{tmp}/root")
    imported = run.importer("importer", f"file://{data}")
    train = run.container(
        "train",
        input_artifacts={"dataset": imported.outputs["artifact"]},
        output_artifacts={"model": "system.Model", "big": "system.Dataset"},
        logs=False,
    )
    far = run.importer("far", "gs://no-such-bucket-for-lineage-tests/x.csv")
    minio = run.importer("minio", "minio://mlpipeline/v2/artifacts/gone")
    run.finish()
    model_dir = Path(train.uris["model"].removeprefix("file://"))
    (model_dir / "weights").mkdir(parents=True)
    (model_dir / "weights" / "w.bin").write_bytes(bytes(range(256)) * 4)
    (model_dir / "config.json").write_text('{"layers": 3}')
    big = Path(train.uris["big"].removeprefix("file://"))
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(b"x" * 5000)
    return {
        "data": f"file://{data}",
        "model": train.uris["model"],
        "big": train.uris["big"],
        "far": far.uris["artifact"],
        "minio": minio.uris["artifact"],
    }


def _props(home: Path, uri: str) -> dict[str, object]:
    store = open_home(home)
    try:
        [art] = store.get_artifacts([artifact_id(uri)])
        return dict(art.properties)
    finally:
        store.close()


def _ingest(home: Path, source: Path, *extra: str) -> dict[str, object]:
    result = invoke(["ingest", "mlmd", "--sqlite", str(source), "--json", *extra], home)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads(result.stdout))


def test_mlmd_ingest_digests_reachable_artifacts_and_says_why_not(fast_tmp: Path) -> None:
    uris = _source(fast_tmp)
    home = fast_tmp / "home"
    _ingest(home, fast_tmp / "kfp.sqlite", "--digest-artifacts", "--digest-max-size", "4KB")

    data_bytes = Path(uris["data"].removeprefix("file://")).read_bytes()
    data = _props(home, uris["data"])
    assert data["digest"] == "sha256:" + hashlib.sha256(data_bytes).hexdigest()
    assert data["digest_kind"] == "file" and "digest_absent" not in data
    model = _props(home, uris["model"])
    # A directory: the Merkle root snapshots use, so it equals the snapshot's id.
    assert model["digest"] == "sha256:" + tree_sha256(uris["model"].removeprefix("file://"))
    assert model["digest_kind"] == "tree"
    assert _props(home, uris["big"])["digest_absent"] == "over the size cap: 5000 bytes > 4000"
    for role in ("far", "minio"):
        reason = str(_props(home, uris[role])["digest_absent"])
        assert reason.startswith("unreachable: "), (role, reason)
        assert "digest" not in _props(home, uris[role])

    # Ingested again without the option: the digests stay, nothing is read or rewritten.
    again = _ingest(home, fast_tmp / "kfp.sqlite", "--full")
    assert again["failed"] == 0 and again["written"] == 0
    assert _props(home, uris["data"])["digest"] == data["digest"]


def test_without_the_option_each_artifact_says_it_was_not_requested(fast_tmp: Path) -> None:
    uris = _source(fast_tmp)
    home = fast_tmp / "home"
    _ingest(home, fast_tmp / "kfp.sqlite")
    for uri in uris.values():
        props = _props(home, uri)
        assert props["digest_absent"] == "not requested" and "digest" not in props


def test_a_bad_size_is_a_clear_config_error(fast_tmp: Path) -> None:
    _source(fast_tmp)
    result = invoke(
        ["ingest", "mlmd", "--sqlite", str(fast_tmp / "kfp.sqlite"), "--digest-max-size", "lots"],
        fast_tmp / "home",
    )
    assert result.returncode == 2
    assert "--digest-max-size" in result.stdout + result.stderr


def test_fsspec_memory_filesystem_digests_files_and_trees() -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe("/lineage-test/model/a.bin", b"a" * 3000)
    fs.pipe("/lineage-test/model/sub/b.txt", b"bee")
    fs.pipe("/lineage-test/data.csv", b"1,2,3\n")
    read: list[int] = []
    digester = ArtifactDigester(DigestOptions(enabled=True), lambda n, _total: read.append(n))
    tree = digester.digest("memory://lineage-test/model")
    assert (tree.digest, tree.kind) == (content_digest("memory://lineage-test/model").value, "tree")
    one = digester.digest("memory://lineage-test/data.csv")
    assert one.digest == "sha256:" + hashlib.sha256(b"1,2,3\n").hexdigest()
    assert sum(read) == 3000 + 3 + 6  # every byte read once, reported to the progress bar
    capped = ArtifactDigester(DigestOptions(enabled=True, max_bytes=100))
    assert capped.digest("memory://lineage-test/model").absent == (
        "over the size cap: 3003 bytes > 100"
    )
    missing = digester.digest("memory://lineage-test/nothing-here")
    assert missing.absent == "unreachable: nothing at memory://lineage-test/nothing-here"
    fs.rm("/lineage-test", recursive=True)


@pytest.fixture
def native_home(fast_tmp: Path) -> Path:
    return fast_tmp / "home"


def test_kfp_api_ingest_records_why_remote_artifacts_have_no_digest(native_home: Path) -> None:
    server = ReplayServer.of("native", NATIVE).start()
    try:
        result = invoke(
            ["ingest", "kfp", "--endpoint", server.url, "--json", "--digest-artifacts"],
            native_home,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    store: MlmdStore = open_home(native_home)
    try:
        run = store.get_run(run_id("9d3b8e4a-7c21-4f0e-8b6d-1e2f3a4b5c01"))
    finally:
        store.close()
    reasons = {a.uri: str(a.properties.get("digest_absent")) for a in run.artifacts}
    assert reasons.pop("") == "no URI"  # the metric KFP keeps inline
    assert reasons and all(r.startswith("unreachable: ") for r in reasons.values()), reasons
    assert all(a.type != KfpType.PIPELINE for a in run.artifacts)
