"""Create, verify, restore and list snapshots in a blob store.

Order makes every operation safe to interrupt: blobs are written before the manifest
that names them, and a restore is built beside its destination and moved into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineage.digest import CHUNK, TreeEntry, iter_tree, scan_tree, sha256_file
from lineage.errors import BadInputError, NotFoundError
from lineage.snapshots.blobs import BlobStore, SourceChangedError, blob_key
from lineage.snapshots.manifest import Manifest

MANIFESTS = "snapshots/"
SMALL = 1 << 20  # files up to this size are read once, into memory


def manifest_key(root: str) -> str:
    return f"{MANIFESTS}{root}.json"


def meta_key(root: str) -> str:
    return f"{MANIFESTS}{root}.meta.json"


@dataclass(frozen=True, slots=True)
class Created:
    manifest: Manifest
    blobs_written: int  # new blobs this call stored
    blobs_reused: int  # files whose content the store already held (or held twice here)
    names: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.manifest.id,
            "root": self.manifest.root,
            "files": len(self.manifest.files),
            "bytes": self.manifest.size,
            "blobs_written": self.blobs_written,
            "blobs_reused": self.blobs_reused,
            "names": list(self.names),
        }


def _store_file(blobs: BlobStore, entry: TreeEntry, path: Path) -> None:
    with open(path, "rb") as source:
        try:
            blobs.put_stream(blob_key(entry.sha256), source, entry.sha256)
        except SourceChangedError as exc:
            raise BadInputError(f"{path} changed while it was being snapshotted") from exc


def _snapshot_file(
    blobs: BlobStore, entry: TreeEntry, source: Path, seen: set[str]
) -> tuple[TreeEntry, bool]:
    """Hash one file and store its blob unless held already; True when a blob was written."""
    size = os.stat(source).st_size
    if size <= SMALL:  # one read serves both the hash and the copy
        with open(source, "rb") as handle:
            data = handle.read()
        digest = hashlib.sha256(data).hexdigest()
        entry = TreeEntry(entry.path, "file", entry.mode, len(data), digest)
        if digest in seen or blobs.exists(blob_key(digest)):
            return entry, False
        blobs.put_bytes(blob_key(digest), data)
        return entry, True
    entry = TreeEntry(entry.path, "file", entry.mode, size, sha256_file(source))
    if entry.sha256 in seen or blobs.exists(blob_key(entry.sha256)):
        return entry, False
    _store_file(blobs, entry, source)  # re-hashed while copied: a file that changed is refused
    return entry, True


def create(path: Path, blobs: BlobStore, name: str | None = None) -> Created:
    """Snapshot a directory (or one file) into ``blobs``; idempotent by content."""
    path = path.expanduser()
    if not path.exists():
        raise NotFoundError(f"{path} does not exist")
    seen: set[str] = set()
    written = reused = 0
    entries: list[TreeEntry] = []
    if path.is_dir():
        walk = list(iter_tree(path))
    else:  # one file: a tree of one entry, named by the file
        walk = [(TreeEntry(path.name, "file", stat.S_IMODE(path.stat().st_mode)), path)]
    for entry, source in walk:
        if entry.kind == "file":
            entry, stored = _snapshot_file(blobs, entry, source, seen)
            written += stored
            reused += not stored
            seen.add(entry.sha256)
        entries.append(entry)
    manifest = Manifest(tuple(entries))
    root = manifest.root
    if not blobs.exists(manifest_key(root)):
        blobs.put_bytes(manifest_key(root), manifest.to_json())
    names = _add_name(blobs, root, name, str(path))
    return Created(manifest, written, reused, names)


def _read_meta(blobs: BlobStore, root: str) -> dict[str, Any]:
    try:
        loaded = json.loads(blobs.get_bytes(meta_key(root)))
    except (NotFoundError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _add_name(blobs: BlobStore, root: str, name: str | None, source: str) -> tuple[str, ...]:
    meta = _read_meta(blobs, root)
    names = set(meta.get("names", []))
    if meta and (name is None or name in names):
        return tuple(sorted(names))
    if name:
        names.add(name)
    meta.setdefault("created_at", datetime.now(UTC).isoformat(timespec="seconds"))
    meta.setdefault("source", source)
    meta["names"] = sorted(names)
    blobs.put_bytes(meta_key(root), json.dumps(meta, sort_keys=True).encode())
    return tuple(meta["names"])


@dataclass(frozen=True, slots=True)
class Summary:
    root: str
    files: int
    bytes: int
    names: tuple[str, ...]
    created_at: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": f"snapshot:sha256:{self.root}",
            "root": self.root,
            "files": self.files,
            "bytes": self.bytes,
            "names": list(self.names),
            "created_at": self.created_at,
            "source": self.source,
        }


def roots(blobs: BlobStore) -> list[str]:
    out = []
    for key in blobs.list(MANIFESTS):
        name = key[len(MANIFESTS) :]
        if name.endswith(".json") and not name.endswith(".meta.json"):
            out.append(name[: -len(".json")])
    return out


def load(blobs: BlobStore, root: str) -> Manifest:
    try:
        data = blobs.get_bytes(manifest_key(root))
    except NotFoundError as exc:
        raise NotFoundError(f"no snapshot {root} in {blobs.location}") from exc
    manifest = Manifest.from_json(data, f"{blobs.location}/{manifest_key(root)}")
    if manifest.root != root:
        raise BadInputError(f"{blobs.location}: manifest {root} holds snapshot {manifest.root}")
    return manifest


def list_snapshots(blobs: BlobStore) -> list[Summary]:
    out = []
    for root in roots(blobs):
        manifest = load(blobs, root)
        meta = _read_meta(blobs, root)
        out.append(
            Summary(
                root,
                len(manifest.files),
                manifest.size,
                tuple(meta.get("names", [])),
                str(meta.get("created_at", "")),
                str(meta.get("source", "")),
            )
        )
    return sorted(out, key=lambda s: (s.created_at, s.root))


def resolve(blobs: BlobStore, ref: str) -> str:
    """The root a user named: an id, a root, a unique prefix (8+ hex digits) or a name."""
    value = ref.removeprefix("snapshot:").removeprefix("sha256:").lower()
    hexchars = set("0123456789abcdef")
    known = roots(blobs)
    if len(value) >= 8 and set(value) <= hexchars:
        matches = [r for r in known if r.startswith(value)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise BadInputError(f"snapshot {ref!r} is ambiguous: {len(matches)} snapshots match")
    named = [r for r in known if ref in _read_meta(blobs, r).get("names", [])]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise BadInputError(f"snapshot name {ref!r} names {len(named)} snapshots; use the id")
    raise NotFoundError(f"no snapshot {ref!r} in {blobs.location}")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


@dataclass(frozen=True, slots=True)
class Verified:
    root: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _hash_blob(blobs: BlobStore, sha256: str) -> str | None:
    try:
        with blobs.open(blob_key(sha256)) as handle:
            h = hashlib.sha256()
            while block := handle.read(CHUNK):
                h.update(block)
            return h.hexdigest()
    except NotFoundError:
        return None


def verify(blobs: BlobStore, root: str, path: Path | None = None) -> Verified:
    """Check every blob of a snapshot, and (given a path) that the path holds exactly it."""
    manifest = load(blobs, root)
    problems: list[Problem] = []
    checked: dict[str, str | None] = {}
    for entry in manifest.files:
        if entry.sha256 not in checked:
            checked[entry.sha256] = _hash_blob(blobs, entry.sha256)
        got = checked[entry.sha256]
        if got is None:
            problems.append(Problem(entry.path, "its blob is missing from the snapshot store"))
        elif got != entry.sha256:
            problems.append(Problem(entry.path, f"its stored blob is corrupt (sha256 {got})"))
    if path is not None:
        problems.extend(_compare(manifest, path.expanduser()))
    return Verified(root, problems)


def _compare(manifest: Manifest, path: Path) -> list[Problem]:
    actual = {e.path: e for e in scan_tree(path)}
    problems = []
    for want in manifest.entries:
        got = actual.pop(want.path, None)
        where = str(path / want.path) if path.is_dir() else str(path)
        if got is None:
            problems.append(Problem(where, "missing"))
        elif got.kind != want.kind:
            problems.append(Problem(where, f"is a {got.kind}, the snapshot has a {want.kind}"))
        elif got.kind == "file" and (got.size, got.sha256) != (want.size, want.sha256):
            problems.append(
                Problem(where, f"content differs (sha256 {got.sha256}, snapshot {want.sha256})")
            )
        elif got.kind == "symlink" and got.target != want.target:
            problems.append(Problem(where, f"links to {got.target!r}, not {want.target!r}"))
        elif got.mode != want.mode:
            problems.append(Problem(where, f"mode {got.mode:o}, the snapshot has {want.mode:o}"))
    problems.extend(Problem(str(path / extra), "not in the snapshot") for extra in sorted(actual))
    return problems


def _write_entry(blobs: BlobStore, root: str, entry: TreeEntry, target: Path) -> None:
    if entry.kind == "dir":
        target.mkdir(exist_ok=True)
        return
    if entry.kind == "symlink":
        os.symlink(entry.target, target)
        return
    try:
        with blobs.open(blob_key(entry.sha256)) as source, open(target, "wb") as out:
            h = hashlib.sha256()
            while block := source.read(CHUNK):
                h.update(block)
                out.write(block)
    except NotFoundError as exc:
        raise NotFoundError(f"snapshot {root}: the blob of {entry.path} is missing") from exc
    if h.hexdigest() != entry.sha256:
        raise BadInputError(
            f"snapshot {root}: the stored blob of {entry.path} is corrupt "
            f"(sha256 {h.hexdigest()}, expected {entry.sha256})"
        )
    os.chmod(target, entry.mode)


def _materialize(
    blobs: BlobStore, root: str, manifest: Manifest, into: Path, dir_modes: bool
) -> None:
    ordered = sorted(manifest.entries, key=lambda e: e.path)
    for entry in ordered:
        target = into / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_entry(blobs, root, entry, target)
    if not dir_modes:  # a merge moves entries out of here: keep every directory writable
        return
    # Directory modes last, deepest first: a read-only directory must already be full.
    for entry in reversed(ordered):
        if entry.kind == "dir":
            os.chmod(into / entry.path, entry.mode)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def restore(blobs: BlobStore, root: str, dest: Path, force: bool = False) -> Manifest:
    """Write a snapshot's tree into ``dest``; every blob is checked as it is copied.

    A non-empty ``dest`` is refused unless ``force``; then the snapshot's paths replace
    what is there, and files the snapshot does not name are left alone.
    """
    manifest = load(blobs, root)
    dest = dest.expanduser()
    if dest.exists() and not dest.is_dir():
        raise BadInputError(f"{dest} exists and is not a directory")
    non_empty = dest.is_dir() and any(dest.iterdir())
    if non_empty and not force:
        raise BadInputError(f"{dest} is not empty; restore into an empty directory or use --force")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.restore-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        _materialize(blobs, root, manifest, staging, dir_modes=not non_empty)
        if not non_empty:
            with contextlib.suppress(FileNotFoundError):
                dest.rmdir()
            os.replace(staging, dest)
            return manifest
        _merge(manifest, staging, dest)
    finally:
        if staging.exists():
            for entry in manifest.entries:  # read-only dirs would block the cleanup
                p = staging / entry.path
                if entry.kind == "dir" and p.is_dir():
                    os.chmod(p, 0o700)
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _merge(manifest: Manifest, staging: Path, dest: Path) -> None:
    ordered = sorted(manifest.entries, key=lambda e: e.path)
    for entry in ordered:
        target = dest / entry.path
        if entry.kind == "dir":
            if target.exists() and not (target.is_dir() and not target.is_symlink()):
                _remove(target)
            target.mkdir(exist_ok=True)
            os.chmod(target, 0o700 | entry.mode)  # writable until its children are in
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(staging / entry.path, target)
    for entry in reversed(ordered):
        if entry.kind == "dir":
            os.chmod(dest / entry.path, entry.mode)
