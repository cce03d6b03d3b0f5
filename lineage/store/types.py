"""MLMD type ids by name, registered on first use and cached per store."""

from __future__ import annotations

from typing import Any

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb


class TypeRegistry:
    """Registers KFP's type names (``system.*``) and any other name as MLMD types.

    KFP registers its types without declared properties and writes custom
    properties only; we do the same, so a store written by us reads like one
    written by KFP, and a KFP store needs no type migration.
    """

    def __init__(self, mlmd: metadata_store.MetadataStore) -> None:
        self._mlmd = mlmd
        self._ids: dict[tuple[str, str], int] = {}
        self._names: dict[int, str] = {}

    def _get(self, kind: str, name: str, put: Any, make: Any) -> int:
        key = (kind, name)
        if key not in self._ids:
            type_id = int(put(make(name=name)))
            self._ids[key] = type_id
            self._names[type_id] = str(name)
        return self._ids[key]

    def context(self, name: str) -> int:
        return self._get("context", name, self._mlmd.put_context_type, pb.ContextType)

    def execution(self, name: str) -> int:
        return self._get("execution", name, self._mlmd.put_execution_type, pb.ExecutionType)

    def artifact(self, name: str) -> int:
        return self._get("artifact", name, self._mlmd.put_artifact_type, pb.ArtifactType)

    def name_of(self, type_id: int) -> str:
        """The name of any stored type id (MLMD type ids are unique across kinds)."""
        if type_id not in self._names:
            for fetch in (
                self._mlmd.get_context_types_by_id,
                self._mlmd.get_execution_types_by_id,
                self._mlmd.get_artifact_types_by_id,
            ):
                found = fetch([type_id])
                if found:
                    self._names[type_id] = found[0].name
                    break
            else:
                self._names[type_id] = f"unknown-type-{type_id}"
        return self._names[type_id]
