"""Diff categories the contract's scenario leaves unchanged: input data and snapshots.

The diff is computed once over the reader primitives, so the MLMD reader
suffices here; the contract and the property test show Neo4j answers alike.
"""

from __future__ import annotations

from lineage.model import KfpType
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.service import LineageService
from lineage.query.types import Change, DiffCategory
from lineage.store.mlmd import MlmdStore
from tests.kit.records import Run, dataset, image, snapshot_record


def test_new_input_data_and_its_snapshot_are_reported(store: MlmdStore) -> None:
    old_data = dataset("gs://data/2024-01.csv", name="raw")
    new_data = dataset("gs://data/2024-02.csv", name="raw")
    trainer = image("registry.local/trainer", "v1")
    models = []
    for name, read in (("jan", old_data), ("feb", new_data)):
        run = Run(name, spec={"pipelineInfo": {"name": "train"}})
        run.task(
            "train",
            inputs={"data": read},
            outputs={"model": KfpType.MODEL},
            params={"lr": 0.1},
            image=trainer,
        )
        store.put_run(run.record())
        models.append(run.outputs["train/model"].id)
    snap, snap_id = snapshot_record(new_data, "feb-snapshot")
    store.put_run(snap)

    answer = LineageService(MlmdReader(store)).diff(models[0], models[1])
    entries = {(e.category, e.key): e for e in answer.entries}
    data = entries[(DiffCategory.DATA, "train/data")]
    assert (data.before, data.after, data.change) == (
        old_data.properties["digest"],
        new_data.properties["digest"],
        Change.CHANGED,
    )
    snapshot = entries[(DiffCategory.SNAPSHOT, "train/data")]
    assert (snapshot.before, snapshot.after, snapshot.change) == (None, snap_id, Change.ADDED)
    # Same spec, same image, same parameters: only the data, its snapshot and the run differ.
    assert {c for c, _ in entries} == {DiffCategory.DATA, DiffCategory.SNAPSHOT, DiffCategory.RUN}
