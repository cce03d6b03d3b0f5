"""Data migration between two real blob stores: a directory and an fsspec URL.

Every expectation is checked by hashing the target's bytes here, not by trusting the
migration's own report.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import fsspec
import pytest

from lineage.digest import content_digest
from lineage.errors import BadInputError
from lineage.rebuild.migrate_data import (
    blob_location,
    migrate_blobs,
    migrate_inputs,
    migrate_snapshots,
)
from lineage.rebuild.migrate_errors import MigrationTargetError, TamperedBlobError
from lineage.rebuild.progress import Quiet, TerminalProgress, reporting
from lineage.snapshots import ops
from lineage.snapshots.blobs import BlobStore, FsspecBlobStore, LocalBlobStore, blob_key
from tests.services import REPO_ROOT, free_port


def _tree(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "data" / "train.csv").write_bytes(b"a,b\n1,2\n" * 1000)
    (root / "data" / "copy.csv").write_bytes(b"a,b\n1,2\n" * 1000)  # same blob twice
    (root / "model.bin").write_bytes(os.urandom(3 << 20))  # past the one-read size
    (root / "empty").write_bytes(b"")
    return root


def _hash(store: BlobStore, sha256: str) -> str:
    with store.open(blob_key(sha256)) as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _put(store: BlobStore, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    store.put_bytes(blob_key(digest), data)
    return digest


def test_snapshot_migrates_with_every_blob_and_a_rerun_copies_nothing(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    target = LocalBlobStore(tmp_path / "b")
    created = ops.create(_tree(tmp_path / "tree"), source, name="train-v1")
    files = {e.sha256: e.size for e in created.manifest.files}

    first = migrate_snapshots([created.manifest.id], source, target)

    assert (first.blobs_copied, first.blobs_present, first.manifests_copied) == (len(files), 0, 1)
    assert first.bytes_copied == sum(files.values())
    assert ops.verify(target, created.manifest.root).ok
    assert all(_hash(target, digest) == digest for digest in files)
    assert [s.names for s in ops.list_snapshots(target)] == [("train-v1",)]

    again = migrate_snapshots([created.manifest.root], source, target)
    assert (again.blobs_copied, again.bytes_copied, again.manifests_copied) == (0, 0, 0)
    assert (again.blobs_present, again.manifests_present) == (len(files), 1)
    assert again.bytes_skipped == sum(files.values())


def test_blobs_migrate_into_an_fsspec_store(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    target = FsspecBlobStore(f"memory://migrate-{uuid.uuid4().hex}")
    digests = [_put(source, os.urandom(n)) for n in (0, 10, 2 << 20)]

    done = migrate_blobs([f"sha256:{d}" for d in digests], source, target)

    assert done.blobs_copied == 3 and done.bytes_copied == 10 + (2 << 20)
    assert all(_hash(target, d) == d for d in digests)
    with fsspec.open(blob_location(target, digests[1]), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == digests[1]
    assert Path(blob_location(source, digests[1])).stat().st_size == 10
    assert migrate_blobs(digests, source, target).bytes_copied == 0


def test_a_tampered_source_blob_is_refused_and_never_lands(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    target = LocalBlobStore(tmp_path / "b")
    good = _put(source, b"good bytes")
    bad = _put(source, b"original bytes")
    (tmp_path / "a" / blob_key(bad)).write_bytes(b"tampered bytes")

    with pytest.raises(TamperedBlobError, match=f"blob {bad} does not hash to its name"):
        migrate_blobs([good, bad], source, target)

    assert _hash(target, good) == good
    assert not target.exists(blob_key(bad))
    assert target.list("blobs/sha256/") == [blob_key(good)]


def test_a_damaged_target_blob_is_copied_again(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    target = LocalBlobStore(tmp_path / "b")
    digest = _put(source, b"the real content")
    migrate_blobs([digest], source, target)
    (tmp_path / "b" / blob_key(digest)).write_bytes(b"rotten on disk!!")

    again = migrate_blobs([digest], source, target)

    assert (again.blobs_replaced, again.blobs_copied, again.blobs_present) == (1, 1, 0)
    assert _hash(target, digest) == digest


def test_an_unwritable_target_store_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    digest = _put(source, b"content")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's parent should be")
    target = LocalBlobStore(blocker / "store")

    with pytest.raises(MigrationTargetError, match=f"target store {blocker / 'store'}") as caught:
        migrate_blobs([digest], source, target)

    assert caught.value.exit_code == 7
    assert blocker.read_text().startswith("a file")


def test_a_bad_digest_is_refused_before_anything_moves(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    target = LocalBlobStore(tmp_path / "b")
    digest = _put(source, b"content")
    with pytest.raises(BadInputError, match="'sha256:nope' is not a sha256 digest"):
        migrate_blobs([digest, "sha256:nope"], source, target)
    assert not (tmp_path / "b").exists()


# A migration in a child process that waits for an acknowledgement after each chunk it
# reports: the parent decides exactly where the copy is when it sends SIGKILL.
CHILD = """
import sys
from pathlib import Path
from lineage.rebuild.migrate_data import migrate_blobs
from lineage.snapshots.blobs import LocalBlobStore

class Handshake:
    def start(self, name, total):
        pass
    def advance(self, size):
        print(size, flush=True)
        sys.stdin.readline()
    def finish(self):
        pass

digests = sys.argv[3:]
migrate_blobs(digests, LocalBlobStore(Path(sys.argv[1])), LocalBlobStore(Path(sys.argv[2])),
              progress=Handshake())
"""


def kill_after(argv: list[str], threshold: int) -> int:
    """Run ``argv``, acknowledge its progress lines until ``threshold`` bytes, then kill -9."""
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    assert child.stdin is not None and child.stdout is not None
    seen = 0
    try:
        for line in child.stdout:
            seen += int(line)
            if seen >= threshold:
                break
            child.stdin.write("\n")
            child.stdin.flush()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "the child finished before it was killed"
    return seen


def test_a_copy_killed_mid_blob_completes_on_the_next_run(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    target = LocalBlobStore(tmp_path / "b")
    small = _put(source, b"copied before the kill")
    big = _put(source, os.urandom(24 << 20))
    after = _put(source, b"never reached before the kill")

    seen = kill_after(
        [sys.executable, "-c", CHILD, str(tmp_path / "a"), str(tmp_path / "b"), small, big, after],
        len(b"copied before the kill") + (8 << 20),
    )
    assert seen < (24 << 20)
    # The cut-off blob exists only under a temporary name, which no reader trusts.
    assert target.list("blobs/sha256/") == [blob_key(small)]
    leftovers = [p for p in (tmp_path / "b" / "blobs" / "sha256").iterdir() if ".tmp-" in p.name]
    assert leftovers
    for leftover in leftovers:  # as if the copy had died long ago: swept once the blob lands
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))

    resumed = migrate_blobs([small, big, after], source, target)

    assert (resumed.blobs_present, resumed.blobs_copied) == (1, 2)
    assert all(_hash(target, d) == d for d in (small, big, after))
    assert not any(p.exists() for p in leftovers)
    assert migrate_blobs([small, big, after], source, target).bytes_copied == 0


def test_inputs_migrate_as_blobs_and_directories_as_snapshots(tmp_path: Path) -> None:
    target = LocalBlobStore(tmp_path / "b")
    tree = _tree(tmp_path / "tree")
    csv = tree / "data" / "train.csv"
    remote = f"memory://inputs-{uuid.uuid4().hex}/params.json"
    with fsspec.open(remote, "wb") as handle:
        handle.write(b'{"lr": 0.1}')
    inputs = [
        (str(csv), content_digest(str(csv)).value),
        (remote, content_digest(remote).value),
        (str(tree), content_digest(str(tree)).value),
    ]

    first = migrate_inputs(inputs, target)

    assert first.manifests_copied == 1
    assert _hash(target, content_digest(str(csv)).sha256) == content_digest(str(csv)).sha256
    assert _hash(target, content_digest(remote).sha256) == content_digest(remote).sha256
    assert ops.verify(target, content_digest(str(tree)).sha256, tree).ok

    again = migrate_inputs(inputs, target)
    assert (again.bytes_copied, again.blobs_copied, again.manifests_present) == (0, 0, 1)

    # A blob of the directory lost from the target comes back, checked, on the next run.
    model = content_digest(str(tree / "model.bin")).sha256
    (tmp_path / "b" / blob_key(model)).unlink()
    healed = migrate_inputs(inputs, target)
    assert (healed.blobs_copied, healed.bytes_copied) == (1, 3 << 20)
    assert ops.verify(target, content_digest(str(tree)).sha256, tree).ok


def test_an_input_changed_since_it_was_recorded_is_refused(tmp_path: Path) -> None:
    target = LocalBlobStore(tmp_path / "b")
    tree = _tree(tmp_path / "tree")
    csv = tree / "data" / "train.csv"
    recorded_file, recorded_tree = content_digest(str(csv)).value, content_digest(str(tree)).value
    csv.write_bytes(b"a,b\n9,9\n")

    with pytest.raises(TamperedBlobError, match=f"input {csv} does not hash to its name"):
        migrate_inputs([(str(csv), recorded_file)], target)
    with pytest.raises(TamperedBlobError, match=f"input {tree}: the directory hashes to"):
        migrate_inputs([(str(tree), recorded_tree)], target)
    # No snapshot under the recorded name; the blobs written are each named by their bytes.
    assert not target.exists(ops.manifest_key(recorded_tree.removeprefix("sha256:")))
    for key in target.list("blobs/sha256/"):
        assert _hash(target, key.rpartition("/")[2]) == key.rpartition("/")[2]


def test_an_unreachable_fsspec_target_is_named(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    digest = _put(source, b"content")
    url = f"ftp://127.0.0.1:{free_port()}/store"  # nothing listens there

    with pytest.raises(MigrationTargetError, match=f"target store {url} is unreachable"):
        migrate_blobs([digest], source, FsspecBlobStore(url))


def test_progress_is_quiet_off_a_terminal_and_drawn_on_one() -> None:
    with reporting(None) as progress:  # pytest captures stderr: not a terminal
        assert isinstance(progress, Quiet)
    bar = TerminalProgress()
    bar.start("blob", 10)
    bar.advance(10)
    bar.finish()
    bar.close()


def test_a_temporary_file_still_being_written_is_left_alone(tmp_path: Path) -> None:
    source = LocalBlobStore(tmp_path / "a")
    digest = _put(source, b"content")
    final = tmp_path / "b" / blob_key(digest)
    final.parent.mkdir(parents=True)
    busy = final.with_name(f".{final.name}.tmp-another-copy")
    busy.write_bytes(b"cont")  # a concurrent copy of the same blob, just written to

    migrate_blobs([digest], source, LocalBlobStore(tmp_path / "b"))

    assert busy.exists() and final.read_bytes() == b"content"
