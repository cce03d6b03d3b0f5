"""The catalog: what the store holds, read by ids in batches and listed a page at a time
by KFP's types. The faces read records through it rather than through the store's port,
so what they may ask of the store is written down in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from lineage.errors import NotFoundError
from lineage.model import Artifact, Context, Event, Execution, KfpType, RunRecord
from lineage.store.port import MetadataStore, Page, Stamp

# The store answers an id it does not hold with nothing: a cheap round trip.
_PROBE_ID = "healthz:probe"


class Catalog:
    """Blocking calls, like the store's: a face runs them in its worker threads."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    @property
    def backend(self) -> str:
        return self.store.backend

    def probe(self) -> None:
        """Raises when the store cannot answer."""
        self.store.get_contexts([_PROBE_ID])

    def contexts(self, ids: Sequence[str]) -> list[Context]:
        return self.store.get_contexts(ids)

    def executions(self, ids: Sequence[str]) -> list[Execution]:
        return self.store.get_executions(ids)

    def artifacts(self, ids: Sequence[str]) -> list[Artifact]:
        return self.store.get_artifacts(ids)

    def events(self, execution_ids: Sequence[str], artifact_ids: Sequence[str]) -> list[Event]:
        return self.store.get_events(execution_ids, artifact_ids)

    def stamps(self, ids: Sequence[str]) -> dict[str, Stamp]:
        return self.store.stamps(ids)

    def runs(self, ids: Sequence[str]) -> list[RunRecord | None]:
        """The runs of these ids, None for an unknown one. The store has no batched read
        of runs, so this is one call for all of them, not one worker call per run."""
        out: list[RunRecord | None] = []
        for run_id in ids:
            try:
                out.append(self.store.get_run(run_id))
            except NotFoundError:
                out.append(None)
        return out

    def pipeline_page(self, size: int, token: str | None) -> Page[Context]:
        return self.store.list_contexts(KfpType.PIPELINE, size, token)

    def run_page(self, size: int, token: str | None) -> Page[Context]:
        return self.store.list_contexts(KfpType.PIPELINE_RUN, size, token)

    def artifact_page(self, type_name: str | None, size: int, token: str | None) -> Page[Artifact]:
        return self.store.list_artifacts(type_name, size, token)

    def first_of_type(
        self, node_class: str, type_name: str | None, size: int
    ) -> Page[Context] | Page[Execution] | Page[Artifact]:
        """The first page of a type of ``node_class`` (context, execution or artifact)."""
        if node_class == "context":
            return self.store.list_contexts(type_name, size, None)
        if node_class == "execution":
            return self.store.list_executions(type_name, size, None)
        return self.store.list_artifacts(type_name, size, None)
