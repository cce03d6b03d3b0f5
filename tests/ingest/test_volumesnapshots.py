"""``lineage ingest volumesnapshots`` against recorded VolumeSnapshot and
VolumeSnapshotContent JSON, replayed by a loopback server speaking the Kubernetes API
paths (tests/services/k8s_api.py); no cluster runs here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.ingest.k8s.volumesnapshots import claim_name, executor_mounts, quantity_bytes
from lineage.model import (
    Context,
    EventType,
    Execution,
    KfpType,
    LineageType,
    RunRecord,
    artifact_id,
    canonical_json,
    snapshotting_id,
)
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.services.k8s_api import FakeApi, load, serve

runner = CliRunner()
NS = "kubeflow-user"
VERSION = "spec:sha256:" + "7" * 64
PLATFORM = {
    "platforms": {
        "kubernetes": {
            "deploymentSpec": {
                "executors": {
                    "exec-train": {
                        "pvcMount": [{"constant": "training-data", "mountPath": "/data"}]
                    },
                    "exec-evaluate": {
                        "pvcMount": [
                            {
                                "taskOutputParameter": {
                                    "producerTask": "createpvc",
                                    "outputParameterKey": "name",
                                },
                                "mountPath": "/scratch",
                            }
                        ]
                    },
                }
            }
        }
    }
}
TASKS = [
    {"path": "createpvc", "name": "createpvc", "executor": "exec-createpvc"},
    {"path": "train", "name": "train", "executor": "exec-train"},
    {"path": "evaluate", "name": "evaluate", "executor": "exec-evaluate"},
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[MlmdStore]:
    s = open_sqlite(home / "mlmd.sqlite")
    version = Context(
        VERSION,
        LineageType.PIPELINE_VERSION,
        VERSION,
        properties={
            "platform_spec": canonical_json(PLATFORM).decode(),
            "tasks": {"tasks": TASKS},
        },
    )
    s.put_run(RunRecord(contexts=(version,)))

    def task(name: str, **props: object) -> Execution:
        return Execution(
            f"task:r1/{name}",
            KfpType.CONTAINER_EXECUTION,
            properties={"task_name": name, "namespace": NS, **props},  # type: ignore[dict-item]
        )

    s.put_run(
        RunRecord(
            contexts=(
                Context("run:r1", KfpType.PIPELINE_RUN, "r1", {"namespace": NS}, (VERSION,)),
            ),
            executions=(
                task("createpvc", outputs={"name": "r1-scratch-pvc"}),
                task("train"),
                task("evaluate"),
            ),
        )
    )
    yield s
    s.close()


def ingest(home: Path, kubeconfig: Path) -> dict[str, object]:
    result = runner.invoke(
        app,
        ["ingest", "volumesnapshots", "--kubeconfig", str(kubeconfig), "--json"],
        env={"LINEAGE_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_snapshots_of_mounted_pvcs_become_lineage(
    home: Path, store: MlmdStore, tmp_path: Path
) -> None:
    with serve(FakeApi(), tmp_path) as kubeconfig:
        report = ingest(home, kubeconfig)
    assert (report["written"], report["skipped"], report["failed"]) == (2, 2, 0)
    skipped = {s["unit"]: s["reason"] for s in report["skips"]}  # type: ignore[attr-defined]
    assert "not mounted" in skipped[f"volumesnapshot {NS}/unrelated-snap"]
    assert "not ready" in skipped[f"volumesnapshot {NS}/training-data-snap-2"]

    data = artifact_id(f"pvc://{NS}/training-data")
    scratch = artifact_id(f"pvc://{NS}/r1-scratch-pvc")
    mounts = {
        (e.execution, e.artifact, e.path)
        for e in store.get_events(artifact_ids=[data, scratch])
        if e.path[:1] == ("volume",)
    }
    assert mounts == {
        ("task:r1/train", data, ("volume", "/data")),
        ("task:r1/evaluate", scratch, ("volume", "/scratch")),
    }

    vs = load("volumesnapshots.json")["items"][0]
    content = load("volumesnapshotcontents.json")["items"][0]
    snap_id = f"snapshot:csi:{content['spec']['driver']}/{content['status']['snapshotHandle']}"
    [snap] = store.get_artifacts([snap_id])
    assert snap.type == LineageType.SNAPSHOT
    assert snap.properties["source_pvc"] == vs["spec"]["source"]["persistentVolumeClaimName"]
    assert snap.properties["restore_size"] == content["status"]["restoreSize"]
    assert snap.properties["ready_to_use"] is True
    assert snap.properties["volume_snapshot"] == f"{NS}/{vs['metadata']['name']}"
    act = snapshotting_id(data, snap_id)
    events = {(e.artifact, e.type, e.path) for e in store.get_events(execution_ids=[act])}
    assert events == {
        (data, EventType.INPUT, ("source",)),
        (snap_id, EventType.OUTPUT, ("snapshot",)),
    }
    # The run's lineage now reaches the PVCs its tasks mounted.
    assert {data, scratch} <= {a.id for a in store.get_run("run:r1").artifacts}

    with serve(FakeApi(), tmp_path) as kubeconfig:
        again = ingest(home, kubeconfig)
    assert (again["written"], again["unchanged"]) == (0, 2)


def test_no_snapshots_and_rbac(home: Path, store: MlmdStore, tmp_path: Path) -> None:
    api = FakeApi()
    api.snapshots = {**api.snapshots, "items": []}
    with serve(api, tmp_path) as kubeconfig:
        report = ingest(home, kubeconfig)
    assert report["read"] == 0
    with serve(FakeApi(status=403), tmp_path) as kubeconfig:
        result = runner.invoke(
            app,
            ["ingest", "volumesnapshots", "--kubeconfig", str(kubeconfig)],
            env={"LINEAGE_HOME": str(home)},
        )
    assert result.exit_code == 2 and "RBAC" in result.output


def test_mount_forms_and_quantities() -> None:
    mounts = executor_mounts(PLATFORM["platforms"]["kubernetes"])  # unwrapped form too
    assert sorted(mounts) == ["exec-evaluate", "exec-train"]
    task = Execution(
        "task:r/t", KfpType.CONTAINER_EXECUTION, properties={"inputs": {"pvc": "in-pvc"}}
    )
    assert claim_name({"componentInputParameter": "pvc"}, task, []) == "in-pvc"
    assert claim_name({"pvcNameParameter": {"runtimeValue": {"constant": "c"}}}, task, []) == "c"
    assert claim_name({"mountPath": "/x"}, task, []) is None
    assert quantity_bytes("1Gi") == 2**30
    assert quantity_bytes("500M") == 500 * 10**6
    assert quantity_bytes(12) == 12
    assert quantity_bytes("bogus") is None


def test_snapshots_with_one_name_in_two_namespaces_both_store(tmp_path: Path) -> None:
    """VolumeSnapshot names repeat across namespaces; MLMD names must not."""
    from lineage.ingest.k8s.volumesnapshots import snapshot_node

    store = open_sqlite(tmp_path / "mlmd.sqlite")
    for ns in ("team-a", "team-b"):
        vs = {
            "metadata": {"name": "daily", "namespace": ns, "uid": ns},
            "spec": {"source": {"persistentVolumeClaimName": "data"}},
            "status": {"readyToUse": True},
        }
        content = {
            "metadata": {"name": f"content-{ns}"},
            "spec": {"driver": "csi.example"},
            "status": {"snapshotHandle": f"handle-{ns}", "readyToUse": True},
        }
        store.put_run(RunRecord((), (), (snapshot_node(vs, content),), ()))
    assert store.counts().by_type["lineage.Snapshot"] == 2
