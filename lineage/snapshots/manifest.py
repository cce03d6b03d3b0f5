"""A snapshot manifest: the flat entry list of a tree, named by its Merkle root."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lineage.digest import TreeEntry, merkle_root
from lineage.errors import BadInputError
from lineage.model import snapshot_id

FORMAT = "lineage.snapshot/v1"


@dataclass(frozen=True, slots=True)
class Manifest:
    entries: tuple[TreeEntry, ...]

    @property
    def root(self) -> str:
        return merkle_root(self.entries)

    @property
    def id(self) -> str:
        return snapshot_id(self.root)

    @property
    def files(self) -> list[TreeEntry]:
        return [e for e in self.entries if e.kind == "file"]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.files)

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "root": self.root,
            "entries": [e.as_dict() for e in sorted(self.entries, key=lambda e: e.path)],
        }
        return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        """Parse a stored manifest and check that its entries still hash to its root."""
        try:
            doc: dict[str, Any] = json.loads(data)
            entries = tuple(TreeEntry.from_dict(raw) for raw in doc["entries"])
            claimed = str(doc["root"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BadInputError(f"{where}: not a snapshot manifest: {exc}") from exc
        manifest = cls(entries)
        if manifest.root != claimed:
            raise BadInputError(
                f"{where}: the manifest is corrupt: its entries hash to {manifest.root}, "
                f"not {claimed}"
            )
        return manifest
