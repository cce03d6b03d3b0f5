"""Content digests: sha256 of bytes streamed in bounded memory, and Merkle roots of trees.

A tree (a directory) is described by a flat list of ``TreeEntry`` (path, kind, mode,
size, sha256). Its root digest is a Merkle hash: each directory hashes the canonical
JSON of its sorted children, a child directory contributing its own digest. Snapshots
and directory artifacts share this function, so the content digest of a directory
artifact equals the id of its snapshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from lineage.errors import BadInputError, NotFoundError

# 1 MiB reads: large enough that hashing, not syscalls, is the cost.
CHUNK = 1 << 20

EntryKind = Literal["file", "dir", "symlink"]


def sha256_stream(stream: BinaryIO, chunk: int = CHUNK) -> str:
    """The hex sha256 of everything left in a binary stream."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    readinto = getattr(stream, "readinto", None)
    if readinto is None:  # some fsspec files only offer read()
        while block := stream.read(chunk):
            h.update(block)
        return h.hexdigest()
    while True:
        n = readinto(view)
        if not n:
            break
        h.update(view[:n])
    return h.hexdigest()


def sha256_file(path: Path | str) -> str:
    with open(path, "rb", buffering=0) as handle:
        return sha256_stream(handle)


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One node of a tree. ``path`` is relative, '/'-separated, never empty."""

    path: str
    kind: EntryKind
    mode: int  # permission bits (st_mode & 0o7777)
    size: int = 0  # bytes, files only
    sha256: str = ""  # hex, files only
    target: str = ""  # symlinks only: the link text, always relative and inside the tree

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind, "mode": self.mode}
        if self.kind == "file":
            out.update(size=self.size, sha256=self.sha256)
        if self.kind == "symlink":
            out["target"] = self.target
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TreeEntry:
        return cls(
            path=str(raw["path"]),
            kind=raw["kind"],
            mode=int(raw["mode"]),
            size=int(raw.get("size", 0)),
            sha256=str(raw.get("sha256", "")),
            target=str(raw.get("target", "")),
        )


def _canonical(value: Any) -> bytes:
    # ASCII escapes keep undecodable file names (surrogate escapes) hashable and stable.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def merkle_root(entries: Iterable[TreeEntry]) -> str:
    """The hex Merkle root of a tree given as a flat list of entries.

    Parent directories a list leaves out are implied (mode 0o755), so the root of a
    tree does not depend on the order or completeness of directory entries.
    """
    children: dict[str, dict[str, TreeEntry]] = {"": {}}
    for entry in entries:
        parent, _, name = entry.path.rpartition("/")
        children.setdefault(parent, {})[name] = entry
        if entry.kind == "dir":
            children.setdefault(entry.path, {})
        while parent:  # make sure every ancestor is known and linked to its parent
            grand, _, pname = parent.rpartition("/")
            siblings = children.setdefault(grand, {})
            if pname in siblings:
                break
            siblings[pname] = TreeEntry(parent, "dir", 0o755)
            children.setdefault(parent, {})
            parent = grand

    def digest(directory: str) -> str:
        rows = []
        for name, entry in sorted(children.get(directory, {}).items()):
            if entry.kind == "dir":
                child = digest(entry.path)
            elif entry.kind == "symlink":
                child = hashlib.sha256(entry.target.encode("utf-8", "surrogateescape")).hexdigest()
            else:
                child = entry.sha256
            rows.append([name, entry.kind, entry.mode, entry.size, child])
        return hashlib.sha256(_canonical(rows)).hexdigest()

    return digest("")


def _check_link(root: Path, rel: str, target: str) -> None:
    """Refuse a symlink whose target leaves the tree: it could not be restored elsewhere."""
    if os.path.isabs(target):
        raise BadInputError(
            f"{root / rel}: symlink to the absolute path {target!r} escapes the snapshot root"
        )
    joined = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    if joined == ".." or joined.startswith("../"):
        raise BadInputError(f"{root / rel}: symlink to {target!r} escapes the snapshot root")


def iter_tree(root: Path) -> Iterator[tuple[TreeEntry, Path]]:
    """Every node under ``root`` (not ``root`` itself) with its absolute path, files unhashed.

    Sorted by path, so two walks of one tree list it alike. Symlinks are kept as links,
    never followed; a link leaving the tree, or a device, fifo or socket, is refused.
    """
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        directory = root / rel_dir if rel_dir else root
        try:
            items = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise BadInputError(f"cannot read directory {directory}: {exc.strerror}") from exc
        subdirs = []
        for item in items:
            rel = f"{rel_dir}/{item.name}" if rel_dir else item.name
            st = item.stat(follow_symlinks=False)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(item.path)
                _check_link(root, rel, target)
                yield TreeEntry(rel, "symlink", mode, target=target), Path(item.path)
            elif stat.S_ISDIR(st.st_mode):
                yield TreeEntry(rel, "dir", mode), Path(item.path)
                subdirs.append(rel)
            elif stat.S_ISREG(st.st_mode):
                yield TreeEntry(rel, "file", mode, size=st.st_size), Path(item.path)
            else:
                raise BadInputError(f"{item.path}: not a file, directory or symlink")
        stack.extend(reversed(subdirs))


def scan_tree(root: Path | str) -> list[TreeEntry]:
    """Every entry under a directory with each file's sha256. A file is a one-entry tree."""
    root = Path(root)
    if not root.exists() and not root.is_symlink():
        raise NotFoundError(f"{root} does not exist")
    if root.is_file():
        st = root.stat()
        return [
            TreeEntry(root.name, "file", stat.S_IMODE(st.st_mode), st.st_size, sha256_file(root))
        ]
    out: list[TreeEntry] = []
    for entry, path in iter_tree(root):
        if entry.kind == "file":
            digest = sha256_file(path)
            size = path.stat().st_size
            entry = TreeEntry(entry.path, "file", entry.mode, size, digest)
        out.append(entry)
    return out


def tree_sha256(root: Path | str) -> str:
    """The Merkle root of a directory (see ``merkle_root``)."""
    return merkle_root(scan_tree(root))


@dataclass(frozen=True, slots=True)
class ContentDigest:
    """The digest of what a URI holds: a file's bytes, or a directory's Merkle root."""

    kind: Literal["file", "tree"]
    sha256: str

    @property
    def value(self) -> str:
        return f"sha256:{self.sha256}"


def local_path(uri: str) -> Path | None:
    """The local path a URI names (a plain path or file://), else None."""
    if uri.startswith("file://"):
        return Path(uri[len("file://") :])
    if "://" in uri:
        return None
    return Path(uri)


def content_digest(uri: str) -> ContentDigest:
    """The sha256 of a local or fsspec URI, streamed in bounded memory.

    A directory gets the Merkle root. Remote stores keep no file modes, so a remote
    tree is hashed with mode 0o644 for files and 0o755 for directories.
    """
    path = local_path(uri)
    if path is not None:
        if path.is_dir():
            return ContentDigest("tree", tree_sha256(path))
        if not path.exists():
            raise NotFoundError(f"{uri}: no such file or directory")
        return ContentDigest("file", sha256_file(path))
    return _remote_digest(uri)


def _remote_digest(uri: str) -> ContentDigest:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BadInputError(
            f"{uri}: hashing remote URIs needs: pip install 'kfp-lineage[snapshots]'"
        ) from exc
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as exc:
        raise BadInputError(f"{uri}: no filesystem for this URI: {exc}") from exc
    try:
        if fs.isdir(path):
            entries = []
            base = path.rstrip("/")
            for name in sorted(fs.find(path)):
                rel = name[len(base) :].lstrip("/")
                with fs.open(name, "rb") as handle:
                    digest = sha256_stream(handle)
                entries.append(TreeEntry(rel, "file", 0o644, int(fs.size(name)), digest))
            return ContentDigest("tree", merkle_root(entries))
        with fs.open(path, "rb") as handle:
            return ContentDigest("file", sha256_stream(handle))
    except FileNotFoundError as exc:
        raise NotFoundError(f"{uri}: no such file or directory") from exc
