"""``lineage ingest pods`` against recorded pod JSON replayed by a loopback server that
speaks the Kubernetes API paths (tests/services/k8s_api.py); no cluster runs here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.model import Context, EventType, Execution, KfpType, LineageType, RunRecord, image_id
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.services.k8s_api import FIXTURES, FakeApi, load, serve

runner = CliRunner()
NS = "kubeflow-user"


def pod_names() -> list[str]:
    return [p["metadata"]["name"] for p in load("pods.json")["items"]]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[MlmdStore]:
    s = open_sqlite(home / "mlmd.sqlite")
    names = pod_names()
    tasks = {"train": names[0], "eval": names[1], "build": names[3]}
    s.put_run(
        RunRecord(
            contexts=(Context("run:r1", KfpType.PIPELINE_RUN, "r1", {"namespace": NS}),),
            executions=tuple(
                Execution(
                    f"task:r1/{task}",
                    KfpType.CONTAINER_EXECUTION,
                    properties={"task_name": task, "pod_name": pod, "namespace": NS, "image": ""},
                )
                for task, pod in tasks.items()
            ),
        )
    )
    yield s
    s.close()


def pod_image(name: str, container: str = "main") -> tuple[str, str]:
    pod = next(p for p in load("pods.json")["items"] if p["metadata"]["name"] == name)
    status = next(c for c in pod["status"]["containerStatuses"] if c["name"] == container)
    return status["image"], status["imageID"]


def image_links(store: MlmdStore, task: str) -> list[tuple[str, tuple[str | int, ...]]]:
    return [
        (e.artifact, e.path)
        for e in store.get_events(execution_ids=[task])
        if e.type == EventType.INPUT and e.path[:1] == ("image",)
    ]


def ingest(home: Path, kubeconfig: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(
        app,
        ["ingest", "pods", "--kubeconfig", str(kubeconfig), "--json", *args],
        env={"LINEAGE_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_pod_image_id_is_recorded_against_its_task(
    home: Path, store: MlmdStore, tmp_path: Path
) -> None:
    names = pod_names()
    with serve(FakeApi(), tmp_path) as kubeconfig:
        report = ingest(home, kubeconfig)
    assert (report["read"], report["written"], report["skipped"], report["failed"]) == (4, 1, 3, 0)
    skipped = {s["unit"]: s["reason"] for s in report["skips"]}  # type: ignore[attr-defined]
    assert "no imageID yet" in skipped[f"pod {NS}/{names[1]}"]
    assert "no recorded task" in skipped[f"pod {NS}/{names[2]}"]
    assert "local image id" in skipped[f"pod {NS}/{names[3]}"]

    _, reported = pod_image(names[0])
    repo, _, digest = reported.partition("@")
    node_id = image_id(repo, digest)
    # The event keeps the reference the pod's spec asked for: what this task ran.
    assert image_links(store, "task:r1/train") == [(node_id, ("image", "pod", "python:3.11"))]
    [node] = store.get_artifacts([node_id])
    assert node.type == LineageType.IMAGE
    assert (node.properties["repository"], node.properties["tag"], node.properties["digest"]) == (
        "docker.io/library/python",
        "3.11",
        digest,
    )
    # The pod still pulling is never recorded empty, nor is the local-id one.
    assert image_links(store, "task:r1/eval") == []
    assert image_links(store, "task:r1/build") == []

    with serve(FakeApi(), tmp_path) as kubeconfig:
        again = ingest(home, kubeconfig, "--namespace", NS)
    assert (again["written"], again["unchanged"]) == (0, 1)


def test_watch_records_the_pod_once_it_reports_its_digest(
    home: Path, store: MlmdStore, tmp_path: Path
) -> None:
    names = pod_names()
    api = FakeApi(watch_lines=(FIXTURES / "pods-watch.jsonl").read_text().splitlines())
    with serve(api, tmp_path) as kubeconfig:
        ingest(home, kubeconfig, "--watch", "--watch-seconds", "1.5")
    assert any("watch=true" in r.lower() for r in api.requests)
    event = json.loads(api.watch_lines[0])
    reported = event["object"]["status"]["containerStatuses"][0]["imageID"]
    repo, _, digest = reported.partition("@")
    assert event["object"]["metadata"]["name"] == names[1]
    asked = "registry.example.com:5000/ml/eval:v2"
    assert image_links(store, "task:r1/eval") == [(image_id(repo, digest), ("image", "pod", asked))]
    [node] = store.get_artifacts([image_id(repo, digest)])
    assert node.properties["tag"] == "v2"


def test_forbidden_is_a_clear_rbac_error(home: Path, store: MlmdStore, tmp_path: Path) -> None:
    with serve(FakeApi(status=403), tmp_path) as kubeconfig:
        result = runner.invoke(
            app,
            ["ingest", "pods", "--kubeconfig", str(kubeconfig)],
            env={"LINEAGE_HOME": str(home)},
        )
    assert result.exit_code == 2
    assert "RBAC" in result.output


def test_bad_kubeconfig_is_a_config_error(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(
        app, ["ingest", "pods", "--kubeconfig", str(missing)], env={"LINEAGE_HOME": str(home)}
    )
    assert result.exit_code == 2
    assert str(missing) in result.output


def test_cluster_manifests_grant_only_reads() -> None:
    import yaml

    k8s = Path(__file__).resolve().parents[2] / "ingest" / "k8s"
    docs = [d for f in sorted(k8s.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    rules = [r for d in docs if d.get("kind") in ("Role", "ClusterRole") for r in d["rules"]]
    assert {tuple(r["resources"]) for r in rules} == {
        ("pods",),
        ("volumesnapshots", "volumesnapshotcontents"),
    }
    assert all(set(r["verbs"]) == {"get", "list", "watch"} for r in rules)
    [deploy] = [d for d in docs if d.get("kind") == "Deployment"]
    pod = deploy["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "lineage-ingest"
    assert pod["containers"][0]["args"] == ["lineage", "ingest", "pods", "--watch"]
    [cron] = [d for d in docs if d.get("kind") == "CronJob"]
    script = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "lineage ingest volumesnapshots" in script and "images resolve --all" in script
    # Every subcommand the manifests run exists with the options they pass.
    for argv in (["ingest", "pods", "--help"], ["ingest", "volumesnapshots", "--help"]):
        assert runner.invoke(app, argv).exit_code == 0
    assert "--watch" in runner.invoke(app, ["ingest", "pods", "--help"]).output
