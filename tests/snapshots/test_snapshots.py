"""Snapshots over both blob stores: a local directory and an fsspec URL (memory://)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from lineage.digest import content_digest, merkle_root, scan_tree, sha256_file, tree_sha256
from lineage.errors import BadInputError, NotFoundError
from lineage.snapshots import ops
from lineage.snapshots.blobs import BlobStore, FsspecBlobStore, LocalBlobStore, blob_key


@pytest.fixture(params=["local", "fsspec"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "store")
    return FsspecBlobStore(f"memory://snapshots-{uuid.uuid4().hex}")


def make_tree(root: Path) -> Path:
    (root / "data" / "nested").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "data" / "a.csv").write_bytes(b"x,y\n1,2\n")
    (root / "data" / "nested" / "copy.csv").write_bytes(b"x,y\n1,2\n")  # same content as a.csv
    (root / "model.bin").write_bytes(os.urandom(300_000))
    (root / "run.sh").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    os.chmod(root / "data" / "a.csv", 0o600)
    os.symlink("data/a.csv", root / "latest.csv")
    os.chmod(root / "data" / "nested", 0o750)
    return root


def tree_bytes(root: Path) -> dict[str, tuple[str, int, bytes | str]]:
    """Every path under root with its kind, full permission bits and bytes (or link text)."""
    out: dict[str, tuple[str, int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                out[rel] = ("link", st.st_mode & 0o7777, os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777, b"")
            else:
                out[rel] = ("file", st.st_mode & 0o7777, path.read_bytes())
    return out


def test_round_trip_is_bit_identical(blobs: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    created = ops.create(src, blobs, name="train-data")
    dest = tmp_path / "restored"
    ops.restore(blobs, ops.resolve(blobs, "train-data"), dest)
    assert tree_bytes(dest) == tree_bytes(src)
    assert tree_sha256(dest) == created.manifest.root == tree_sha256(src)
    assert ops.verify(blobs, created.manifest.root, dest).ok


def test_identical_files_are_stored_once(blobs: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    created = ops.create(src, blobs)
    contents = {
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in src.rglob("*")
        if p.is_file() and not p.is_symlink()
    }
    stored = blobs.list("blobs/sha256/")
    assert len(stored) == len(contents) == 3  # 4 files, two with equal bytes
    assert (created.blobs_written, created.blobs_reused) == (3, 1)
    second = ops.create(src, blobs)  # a second snapshot of the same data writes no blob
    assert (second.blobs_written, second.manifest.root) == (0, created.manifest.root)
    assert len(blobs.list("blobs/sha256/")) == 3


def test_one_byte_changes_the_root_and_verify_names_the_file(
    blobs: BlobStore, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src")
    root = ops.create(src, blobs).manifest.root
    model = src / "model.bin"
    data = bytearray(model.read_bytes())
    data[1234] ^= 0x01
    model.write_bytes(bytes(data))
    assert tree_sha256(src) != root
    result = ops.verify(blobs, root, src)
    assert [p.path for p in result.problems] == [str(model)]
    assert "content differs" in result.problems[0].what


def test_corrupted_blob_is_named_by_verify_and_refused_by_restore(
    blobs: BlobStore, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src")
    root = ops.create(src, blobs).manifest.root
    digest = sha256_file(src / "run.sh")
    blobs.put_bytes(blob_key(digest), b"#!/bin/sh\nrm -rf /\n")  # corrupt it in place
    result = ops.verify(blobs, root)
    assert [p.path for p in result.problems] == ["run.sh"]
    assert "corrupt" in result.problems[0].what
    with pytest.raises(BadInputError, match=r"run\.sh"):
        ops.restore(blobs, root, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize("target", ["../../outside.txt", "/etc/passwd", "../sub/../../x"])
def test_symlink_escaping_the_root_is_refused(
    blobs: BlobStore, tmp_path: Path, target: str
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(target, src / "sub" / "link")
    with pytest.raises(BadInputError, match="escapes the snapshot root"):
        ops.create(src, blobs)
    assert ops.roots(blobs) == []


def test_restore_into_non_empty_dir_needs_force(blobs: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    root = ops.create(src, blobs).manifest.root
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    (dest / "model.bin").write_text("old")
    with pytest.raises(BadInputError, match="not empty"):
        ops.restore(blobs, root, dest)
    assert (dest / "model.bin").read_text() == "old"
    ops.restore(blobs, root, dest, force=True)
    assert (dest / "model.bin").read_bytes() == (src / "model.bin").read_bytes()
    assert (dest / "keep.txt").read_text() == "mine"  # force replaces only the snapshot's paths
    restored = {k: v for k, v in tree_bytes(dest).items() if k != "keep.txt"}
    assert restored == tree_bytes(src)


def test_restore_into_empty_dir_is_allowed(blobs: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    root = ops.create(src, blobs).manifest.root
    (tmp_path / "dest").mkdir()
    ops.restore(blobs, root, tmp_path / "dest")
    assert tree_bytes(tmp_path / "dest") == tree_bytes(src)


def test_verify_reports_missing_and_extra_files(blobs: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    root = ops.create(src, blobs).manifest.root
    (src / "run.sh").unlink()
    (src / "new.txt").write_text("new")
    os.chmod(src / "model.bin", 0o600)
    problems = {p.path: p.what for p in ops.verify(blobs, root, src).problems}
    assert problems[str(src / "run.sh")] == "missing"
    assert problems[str(src / "new.txt")] == "not in the snapshot"
    assert problems[str(src / "model.bin")].startswith("mode 600")


def test_single_file_snapshot_and_unknown_ids(blobs: BlobStore, tmp_path: Path) -> None:
    f = tmp_path / "weights.bin"
    f.write_bytes(b"w" * 1000)
    created = ops.create(f, blobs)
    ops.restore(blobs, created.manifest.root, tmp_path / "out")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == f.read_bytes()
    assert ops.resolve(blobs, created.manifest.root[:10]) == created.manifest.root
    with pytest.raises(NotFoundError):
        ops.resolve(blobs, "no-such-name")
    [summary] = ops.list_snapshots(blobs)
    assert (summary.files, summary.bytes) == (1, 1000)


def test_merkle_root_ignores_entry_order_and_implied_dirs(tmp_path: Path) -> None:
    entries = scan_tree(make_tree(tmp_path / "src"))
    assert merkle_root(entries) == merkle_root(list(reversed(entries)))
    only_files = [e for e in entries if e.kind != "dir" or e.path == "empty"]
    with_default_modes = [
        e if e.kind != "dir" or e.path == "empty" else type(e)(e.path, "dir", 0o755)
        for e in entries
    ]
    assert merkle_root(only_files) == merkle_root(with_default_modes)


def test_content_digest_of_files_dirs_and_fsspec_urls(tmp_path: Path) -> None:
    import fsspec

    src = make_tree(tmp_path / "src")
    data = (src / "model.bin").read_bytes()
    file_digest = content_digest(str(src / "model.bin"))
    assert (file_digest.kind, file_digest.sha256) == ("file", hashlib.sha256(data).hexdigest())
    assert content_digest(f"file://{src}").sha256 == tree_sha256(src)
    fs = fsspec.filesystem("memory")
    base = f"/digest-{uuid.uuid4().hex}"
    fs.pipe_file(f"{base}/m.bin", data)
    fs.pipe_file(f"{base}/d/x.txt", b"x")
    assert content_digest(f"memory://{base}/m.bin").sha256 == file_digest.sha256
    remote = content_digest(f"memory://{base}")
    local = tmp_path / "mirror"
    (local / "d").mkdir(parents=True)
    (local / "m.bin").write_bytes(data)
    (local / "d" / "x.txt").write_bytes(b"x")
    os.chmod(local / "m.bin", 0o644)
    os.chmod(local / "d" / "x.txt", 0o644)
    os.chmod(local / "d", 0o755)
    assert (remote.kind, remote.sha256) == ("tree", tree_sha256(local))
    with pytest.raises(NotFoundError):
        content_digest(str(tmp_path / "nothing"))
