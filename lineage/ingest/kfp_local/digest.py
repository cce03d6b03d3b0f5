"""The content digest of an artifact a local run wrote or imported.

Computed right after the task that wrote it finished, before anything
downstream could touch the files. Only local paths are hashed: a local run
must not stall on a remote store, and a digest is never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage.digest import content_digest, local_path
from lineage.errors import LineageError


@dataclass(frozen=True, slots=True)
class DigestFact:
    digest: str | None  # "sha256:<hex>"
    kind: str | None  # "file" (the bytes) or "tree" (a directory's Merkle root)
    absent: str | None  # why there is no digest


def digest_of(uri: str) -> DigestFact:
    path = local_path(uri)
    if path is None:
        return DigestFact(None, None, "remote URI: a local run does not read remote stores")
    if not path.exists():
        return DigestFact(None, None, "nothing was written at this URI")
    try:
        found = content_digest(str(path))
    except (LineageError, OSError) as exc:
        return DigestFact(None, None, f"cannot hash it: {exc}")
    return DigestFact(found.value, found.kind, None)
