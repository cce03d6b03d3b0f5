"""Copy a local file into a local blob store in the kernel, then hash the copy.

On one machine ``copy_file_range`` moves the bytes without a trip through user space,
several times faster than read() and write() here (and the way ``cp`` copies). The
copy is then read back and hashed, so what is checked is what the target holds, not
what was meant to be written. It lives under a temporary name that the blob store's
listing ignores until the hash matches and it is renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import time
import uuid
from pathlib import Path

from lineage.digest import CHUNK
from lineage.rebuild.progress import Progress
from lineage.snapshots.blobs import SourceChangedError

STEP = 4 * CHUNK  # bytes per copy_file_range call: progress moves, syscalls stay few
STALE_S = 600.0  # a temporary file untouched this long belongs to a copy that died
_FALLBACK = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


def _copy_fd(source: int, target: int, size: int, progress: Progress) -> None:
    done = 0
    while done < size:
        try:
            moved = os.copy_file_range(source, target, min(STEP, size - done))
        except OSError as exc:
            if exc.errno not in _FALLBACK or done:
                raise
            _copy_user(source, target, progress)  # a kernel or filesystem without it
            return
        if moved == 0:  # the source shrank under us: the hash below will say so
            return
        done += moved
        progress.advance(moved)
    _copy_user(source, target, progress)  # the source grew: copy the rest, the hash refuses it


def _copy_user(source: int, target: int, progress: Progress) -> None:
    while block := os.read(source, CHUNK):
        view = memoryview(block)
        while view:
            view = view[os.write(target, view) :]
        progress.advance(len(block))


def _hash(path: Path, progress: Progress) -> str:
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buf):
            h.update(view[:n])
            progress.advance(n)
    return h.hexdigest()


def copy_verified(source: Path, final: Path, sha256: str, progress: Progress) -> int:
    """Copy ``source`` to ``final`` when its copy hashes to ``sha256``; returns its size.

    Raises ``SourceChangedError`` (and leaves nothing under ``final``) on a mismatch.
    Progress counts each byte twice: once copied, once hashed.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(source, "rb") as reader, open(tmp, "wb") as writer:
            size = os.fstat(reader.fileno()).st_size
            progress.start(f"{sha256[:12]} (copy, verify)", 2 * size)
            _copy_fd(reader.fileno(), writer.fileno(), size, progress)
        got = _hash(tmp, progress)
        if got != sha256:
            raise SourceChangedError(f"read {got}, expected {sha256}")
        os.replace(tmp, final)
        _sweep(final)
        return final.stat().st_size
    finally:
        tmp.unlink(missing_ok=True)


def _sweep(final: Path) -> None:
    """Remove what killed copies of this blob left behind, now that it is in place.

    A copy still running rewrites its file every moment; one untouched for STALE_S
    seconds was cut off (kill -9, a crash) and would only hold disk space.
    """
    cutoff = time.time() - STALE_S
    for leftover in final.parent.glob(f".{final.name}.tmp-*"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
