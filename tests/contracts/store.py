"""The MetadataStore contract. Every backend's and every wrapper's test class inherits
it and only provides the ``store`` fixture, any MetadataStore; a backend that cannot do
something says so with a capability flag, not by skipping tests here and there."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lineage.errors import BadInputError, StoreError
from lineage.model import (
    Artifact,
    Context,
    Event,
    EventType,
    ExecutionState,
    KfpType,
    RunRecord,
    artifact_id,
)
from lineage.store.port import MetadataStore
from tests.kit.records import record_node_ids, training_run


def _snapshot(store: MetadataStore, record: RunRecord) -> dict[str, object]:
    ids = record_node_ids(record)
    return {"counts": store.counts().as_dict(), "stamps": store.stamps(ids)}


class StoreContract:
    def written(self, record: RunRecord) -> RunRecord:
        """The record as the store is meant to keep it: a wrapper that adds facts to
        what it writes (content digests) says which here."""
        return record

    def test_put_run_writes_every_node_and_event(self, store: MetadataStore) -> None:
        record = training_run()
        result = store.put_run(record)
        assert result.created == len(record.contexts) + len(record.executions) + len(
            record.artifacts
        )
        assert result.events_created == len(record.events)
        counts = store.counts()
        assert (counts.contexts, counts.executions, counts.artifacts, counts.events) == (
            2,
            3,
            3,
            4,
        )
        assert counts.by_type[KfpType.MODEL] == 1

    def test_writing_the_same_run_twice_changes_nothing(self, store: MetadataStore) -> None:
        record = training_run()
        store.put_run(record)
        before = _snapshot(store, record)
        again = store.put_run(training_run())
        assert not again.changed
        assert again.unchanged == 8
        assert _snapshot(store, record) == before  # counts and MLMD update times

    def test_a_changed_node_is_updated_in_place(self, store: MetadataStore) -> None:
        store.put_run(training_run())
        result = store.put_run(training_run(state=ExecutionState.FAILED))
        assert result.updated == 3 and result.created == 0
        assert store.counts().executions == 3
        states = {e.id: e.state for e in store.get_run("run:r1").executions}
        assert set(states.values()) == {ExecutionState.FAILED}

    def test_a_failing_write_leaves_nothing_behind(self, store: MetadataStore) -> None:
        store.put_run(training_run("r1", model_name="champion"))
        before = store.counts().as_dict()
        # MLMD keeps artifact names unique per type. Run r2's model reuses the
        # name, so MLMD refuses it after r2's context and executions were staged
        # in the same transaction: all of them must roll back.
        clash = training_run("r2", model_name="champion")
        with pytest.raises(StoreError, match="run:r2"):
            store.put_run(clash)
        assert store.counts().as_dict() == before
        assert store.get_contexts(["run:r2"]) == []
        assert store.get_executions([e.id for e in clash.executions]) == []

    def test_a_dangling_event_is_refused_before_anything_is_written(
        self, store: MetadataStore
    ) -> None:
        record = training_run()
        ghost = Event(record.executions[1].id, artifact_id("/nowhere"), EventType.INPUT, ("x",))
        with pytest.raises(BadInputError, match="/nowhere"):
            store.put_run(replace(record, events=(*record.events, ghost)))
        assert store.counts().artifacts == 0

    def test_get_run_returns_what_was_written(self, store: MetadataStore) -> None:
        record = training_run()
        store.put_run(record)
        back = store.get_run("run:r1")
        record = self.written(record)
        assert {c.id for c in back.contexts} == {c.id for c in record.contexts}
        assert sorted(back.executions, key=lambda e: e.id) == sorted(
            record.executions, key=lambda e: e.id
        )
        assert {a.id: a.properties for a in back.artifacts} == {
            a.id: a.properties for a in record.artifacts
        }
        assert set(back.events) == set(record.events)
        assert back.contexts[0].parents == ("pipeline:train",)
        assert not store.put_run(back).changed  # a read record writes back as a no-op

    def test_property_types_survive_the_round_trip(self, store: MetadataStore) -> None:
        store.put_run(training_run())
        train = store.get_executions(["task:r1/train"])[0]
        assert train.properties["image"] == "py:3.11"
        assert train.properties["inputs"] == {"lr": 0.1, "epochs": 3}
        evaluate = store.get_executions(["task:r1/evaluate"])[0]
        assert evaluate.properties["cached"] is False
        model = store.get_artifacts(["artifact:/root/r1/train/model"])[0]
        assert model.properties["size"] == 1024 and isinstance(model.properties["size"], int)

    def test_paging_visits_every_node_once(self, store: MetadataStore) -> None:
        for n in range(4):
            store.put_run(training_run(f"r{n}", dataset_uri=f"/data/{n}.csv"))
        seen: list[str] = []
        token: str | None = None
        while True:
            page = store.list_artifacts(page_size=5, page_token=token)
            seen.extend(a.id for a in page.items)
            token = page.next_page_token
            if token is None:
                break
        assert len(seen) == len(set(seen)) == 12
        models = store.list_artifacts(type=KfpType.MODEL, page_size=100)
        assert {a.type for a in models.items} == {KfpType.MODEL} and len(models.items) == 4

    def test_lookups_are_batched_past_the_batch_size(self, store: MetadataStore) -> None:
        ctx = Context("run:big", KfpType.PIPELINE_RUN, "big")
        arts = tuple(
            Artifact(artifact_id(f"/a/{i}"), KfpType.DATASET, f"/a/{i}") for i in range(1200)
        )
        store.put_run(RunRecord((ctx,), (), arts, ()))
        wanted = [a.id for a in reversed(arts)] + ["artifact:/missing"]
        got = store.get_artifacts(wanted)
        assert [a.id for a in got] == wanted[:-1]  # input order, unknown ids left out
        assert not store.put_run(RunRecord((ctx,), (), arts, ())).changed

    def test_unknown_types_are_kept_by_name(self, store: MetadataStore) -> None:
        ctx = Context("run:tfx", "tfx.PipelineRun", "tfx")
        art = Artifact("artifact:/tfx/examples", "Examples", "/tfx/examples")
        store.put_run(RunRecord((ctx,), (), (art,), ()))
        assert store.get_artifacts([art.id])[0].type == "Examples"
        assert store.counts().by_type["tfx.PipelineRun"] == 1

    def test_a_missing_parent_context_is_refused(self, store: MetadataStore) -> None:
        orphan = Context("run:o", KfpType.PIPELINE_RUN, "o", parents=("pipeline:absent",))
        with pytest.raises(BadInputError, match="pipeline:absent"):
            store.put_run(RunRecord((orphan,), (), (), ()))
        assert store.counts().contexts == 0

    def test_state_is_kept_exactly(self, store: MetadataStore) -> None:
        assert store.get_state("ingest:x") is None
        store.put_state("ingest:x", {"watermark": 1795729604624, "source": "a"})
        store.put_state("ingest:x", {"watermark": 1795729604625, "source": "a"})
        assert store.get_state("ingest:x") == {"watermark": 1795729604625, "source": "a"}
