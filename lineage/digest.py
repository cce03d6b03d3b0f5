"""Content digests: sha256 of bytes streamed in bounded memory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

# 1 MiB reads: large enough that hashing, not syscalls, is the cost.
CHUNK = 1 << 20


def sha256_stream(stream: BinaryIO, chunk: int = CHUNK) -> str:
    """The hex sha256 of everything left in a binary stream."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        h.update(view[:n])
    return h.hexdigest()


def sha256_file(path: Path | str) -> str:
    with open(path, "rb", buffering=0) as handle:
        return sha256_stream(handle)
