"""A snapshot stands for the data it holds, on both readers.

The stored edge runs artifact -> snapshot (SNAPSHOT_OF). Impact from a snapshot
must still cover everything downstream of that data, and the upstream lineage of
a model must show the snapshots of what it read; but two artifacts that share a
content-addressed snapshot (the same bytes) are not linked through it.

Every answer is asked of the MLMD reader, of the Neo4j reader (neighbourhood copy,
and level by level), over a projection synced in full and one grown run by run
(the reach index kept incrementally).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lineage.graph.connect import Graph
from lineage.graph.sync import sync
from lineage.graph.verify import verify
from lineage.ingest.k8s.volumesnapshots import (
    VOLUME_EVENT_KEY,
    pvc_artifact,
    snapshot_node,
    snapshot_record,
)
from lineage.model import Direction, Event, EventType, KfpType, RunRecord, merge_records
from lineage.query.readers.mlmd.reader import MlmdReader
from lineage.query.readers.neo4j.reader import Neo4jReader
from lineage.query.service import LineageService
from lineage.query.types import ImpactQuery, LineageQuery
from lineage.snapshots.blobs import LocalBlobStore
from lineage.snapshots.lineage import snapshot_artifact
from lineage.store.connect import open_sqlite
from lineage.store.rows import rows_for
from tests.conftest import require
from tests.contracts.live_reader import LiveNeo4jReader
from tests.kit.records import Run, dataset
from tests.services import Neo4jService

NS = "team"


@dataclass
class Scene:
    """The ids the tests ask about."""

    data: str  # prep's output, read by train-a
    copy: str  # copy's output: the same bytes as ``data``, read by train-b
    snap: str  # the snapshot of both (content-addressed: one id)
    model_a: str
    model_b: str
    pvc: str
    csi: str  # a CSI VolumeSnapshot of the PVC
    pvc_models: tuple[str, str]
    records: tuple[RunRecord, ...]


def build(tmp: Path) -> Scene:
    blobs = LocalBlobStore(tmp / "blobs")
    hub = dataset("gs://data/hub.csv", name="hub")
    r1 = Run("r1")
    r1.task("prep", inputs={"raw": hub}, outputs={"data": KfpType.DATASET})
    data = r1.outputs["prep/data"]
    r1.task("copy", inputs={"src": data}, outputs={"dst": KfpType.DATASET})
    copy = r1.outputs["copy/dst"]
    r2 = Run("r2")
    r2.task("train-a", inputs={"train": data}, outputs={"model": KfpType.MODEL})
    r3 = Run("r3")
    r3.task("train-b", inputs={"train": copy}, outputs={"model": KfpType.MODEL})
    # ``lineage run --snapshot-inputs`` snapshots each input before its task runs: the
    # copy holds the same bytes, so both artifacts share one snapshot id.
    (tmp / "bytes").mkdir()
    (tmp / "bytes" / "part-0.csv").write_text("x,y\n1,2\n")
    snaps = [snapshot_artifact(a, tmp / "bytes", blobs) for a in (data, copy)]
    assert snaps[0].snapshot.id == snaps[1].snapshot.id

    # CSI: two runs' trainers mounted one PVC; a VolumeSnapshot was taken of it.
    pvc = pvc_artifact(NS, "training-data")
    pvc_runs = [Run(f"p{i}") for i in range(2)]
    for run in pvc_runs:
        run.task("train", outputs={"model": KfpType.MODEL})
    mounted = [
        RunRecord(
            executions=tuple(e for e in run.record().executions if e.id.endswith("/train")),
            artifacts=(pvc,),
            events=(Event(f"task:{run.run}/train", pvc.id, EventType.INPUT, (VOLUME_EVENT_KEY,)),),
            contexts=tuple(c for c in run.record().contexts if c.type == KfpType.PIPELINE_RUN),
        )
        for run in pvc_runs
    ]
    vs = {
        "metadata": {"name": "daily", "namespace": NS, "uid": "u1"},
        "spec": {"source": {"persistentVolumeClaimName": "training-data"}},
        "status": {"readyToUse": True, "boundVolumeSnapshotContentName": "c1"},
    }
    content = {
        "metadata": {"name": "c1"},
        "spec": {"driver": "hostpath.csi.k8s.io"},
        "status": {"snapshotHandle": "h1", "readyToUse": True},
    }
    csi = snapshot_node(vs, content)
    records = (
        r1.record(),
        r2.record(),
        r3.record(),
        merge_records([snaps[0].record(data, ()), snaps[1].record(copy, ())]),
        *[run.record() for run in pvc_runs],
        *mounted,
        snapshot_record(pvc, csi),
    )
    return Scene(
        data=data.id,
        copy=copy.id,
        snap=snaps[0].snapshot.id,
        model_a=r2.outputs["train-a/model"].id,
        model_b=r3.outputs["train-b/model"].id,
        pvc=pvc.id,
        csi=csi.id,
        pvc_models=tuple(sorted(r.outputs["train/model"].id for r in pvc_runs)),  # type: ignore[arg-type]
        records=records,
    )


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return build(tmp_path)


@pytest.fixture(params=["full", "run-by-run"])
def services(
    request: pytest.FixtureRequest, neo4j_service: Neo4jService, tmp_path: Path, scene: Scene
) -> Iterator[dict[str, LineageService]]:
    """The three readers over one store, projected by one full sync after every record is
    written, or by an incremental sync after each record (the reach index then grows
    edge by edge, and later records link into what earlier syncs projected)."""
    require("neo4j", neo4j_service)
    store = open_sqlite(tmp_path / "mlmd.sqlite")
    graph = Graph(neo4j_service.bolt_uri)
    try:
        if request.param == "full":
            for record in scene.records:
                store.put_run(record)
            sync(graph, rows_for(store), store.location, full=True)
        else:
            sync(graph, rows_for(store), store.location, full=True)
            for record in scene.records:
                store.put_run(record)
                sync(graph, rows_for(store), store.location, lookback_ms=0)
        report = verify(graph, rows_for(store), sample=50, index_sample=1000)
        assert report.ok, report.differences()
        yield {
            "mlmd": LineageService(MlmdReader(store)),
            "neo4j": LineageService(Neo4jReader(graph)),
            "neo4j-live": LineageService(LiveNeo4jReader(graph)),
        }
    finally:
        graph.close()
        store.close()


def ids(nodes: object) -> list[str]:
    return sorted(n.id for n in nodes)  # type: ignore[attr-defined]


def test_impact_from_a_snapshot_covers_the_data_it_holds(
    services: dict[str, LineageService], scene: Scene
) -> None:
    for name, service in services.items():
        from_snap = service.impact(ImpactQuery(snapshot=scene.snap))
        # The snapshot holds the bytes of both artifacts: both trainers read them.
        assert ids(from_snap.models) == sorted([scene.model_a, scene.model_b]), name
        assert ids(from_snap.runs) == ["run:r1", "run:r2", "run:r3"], name
        assert (from_snap.total_models, from_snap.total_runs) == (2, 3), name
        assert ids(from_snap.sources) == [scene.snap], name
        # Uncounted pages (GraphQL without totals) take another way in Neo4j.
        page = service.impact(ImpactQuery(snapshot=scene.snap, first=1, count=False))
        assert ids(page.models) == [min(scene.model_a, scene.model_b)], name
        # The artifact alone reaches its own consumers, not its twin's through the
        # shared snapshot.
        from_data = service.impact(ImpactQuery(artifact=scene.data))
        assert ids(from_data.models) == sorted([scene.model_a, scene.model_b]), name
        from_copy = service.impact(ImpactQuery(artifact=scene.copy))
        assert ids(from_copy.models) == [scene.model_b], name


def test_impact_from_a_csi_volume_snapshot_equals_impact_from_its_pvc(
    services: dict[str, LineageService], scene: Scene
) -> None:
    for name, service in services.items():
        from_pvc = service.impact(ImpactQuery(artifact=scene.pvc))
        from_snap = service.impact(ImpactQuery(snapshot=scene.csi))
        assert ids(from_pvc.models) == list(scene.pvc_models), name
        assert ids(from_snap.models) == list(scene.pvc_models), name
        assert ids(from_snap.runs) == ids(from_pvc.runs) == ["run:p0", "run:p1"], name


def test_upstream_lineage_shows_the_snapshots_of_what_was_read(
    services: dict[str, LineageService], scene: Scene
) -> None:
    answers = {
        name: service.lineage(LineageQuery(scene.model_b, Direction.UPSTREAM))
        for name, service in services.items()
    }
    for name, answer in answers.items():
        assert answer == answers["mlmd"], name
    reached = {n.id for n in answers["mlmd"].nodes}
    # train-b read the copy; the copy's snapshot is in its lineage, and so is the copy's
    # real history (copy <- data <- prep <- hub).
    assert {scene.copy, scene.snap, scene.data, "artifact:gs://data/hub.csv"} <= reached
    snap_edges = {
        (e.source, e.target) for e in answers["mlmd"].edges if e.kind.value == "SNAPSHOT_OF"
    }
    assert (scene.copy, scene.snap) in snap_edges

    # Model A's lineage: data and its snapshot, but not the copy (a later artifact that
    # only shares the snapshot's bytes), nor the copy task.
    first = {
        name: service.lineage(LineageQuery(scene.model_a, Direction.UPSTREAM))
        for name, service in services.items()
    }
    for name, answer in first.items():
        assert answer == first["mlmd"], name
    reached_a = {n.id for n in first["mlmd"].nodes}
    assert scene.snap in reached_a and scene.data in reached_a
    assert scene.copy not in reached_a and "task:r1/copy" not in reached_a


def test_downstream_lineage_from_a_snapshot_reaches_what_its_data_fed(
    services: dict[str, LineageService], scene: Scene
) -> None:
    answers = {
        name: service.lineage(LineageQuery(scene.csi, Direction.DOWNSTREAM))
        for name, service in services.items()
    }
    for name, answer in answers.items():
        assert answer == answers["mlmd"], name
    reached = {n.id for n in answers["mlmd"].nodes}
    assert {scene.pvc, *scene.pvc_models} <= reached
    # A depth of one stops at the held data, and says more follows.
    short = {
        name: service.lineage(LineageQuery(scene.csi, Direction.DOWNSTREAM, depth=1))
        for name, service in services.items()
    }
    for name, answer in short.items():
        assert answer == short["mlmd"], name
        assert {n.id for n in answer.nodes} == {scene.csi, scene.pvc}, name
        assert answer.truncated_by == "depth", name
