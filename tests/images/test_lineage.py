"""``lineage images resolve --all``: images become nodes linked from the tasks that ran them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.images.lineage import pinned_record
from lineage.model import (
    Context,
    EventType,
    Execution,
    KfpType,
    LineageType,
    RunRecord,
    image_id,
)
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.services import RegistryService, build_oci_index_layout, build_oci_layout

runner = CliRunner()
PINNED = "sha256:" + "c0" * 32


@pytest.fixture(scope="module")
def images(
    registry_service: RegistryService, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    base = tmp_path_factory.mktemp("lineage-images")
    registry_service.push(build_oci_layout(base / "s", {"t.py": b"train"}), "kfp/train:v1")
    registry_service.push(build_oci_index_layout(base / "m", {"e.py": b"eval"}), "kfp/eval:v2")
    out = {}
    for ref in ("kfp/train:v1", "kfp/eval:v2"):
        full = f"{registry_service.address}/{ref}"
        inspected = subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", "--no-tags", f"docker://{full}"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        out[full] = json.loads(inspected.stdout)["Digest"]
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[MlmdStore]:
    s = open_sqlite(home / "mlmd.sqlite")
    yield s
    s.close()


def record_run(
    store: MlmdStore, tasks: dict[str, str], spec_images: dict[str, str] | None = None
) -> None:
    parents: tuple[str, ...] = ()
    if spec_images is not None:
        version = Context(
            "spec:sha256:" + "1" * 64,
            LineageType.PIPELINE_VERSION,
            "spec:sha256:" + "1" * 64,
            properties={
                "tasks": {
                    "tasks": [{"path": p, "name": p, "image": i} for p, i in spec_images.items()]
                }
            },
        )
        store.put_run(RunRecord(contexts=(version,)))
        parents = (version.id,)
    store.put_run(
        RunRecord(
            contexts=(Context("run:r1", KfpType.PIPELINE_RUN, "r1", parents=parents),),
            executions=tuple(
                Execution(
                    f"task:r1/{name}",
                    KfpType.CONTAINER_EXECUTION,
                    properties={"task_name": name.split("[")[0], "image": image},
                )
                for name, image in tasks.items()
            ),
        )
    )


def resolve_all(home: Path, registry: RegistryService) -> dict[str, object]:
    result = runner.invoke(
        app,
        ["images", "resolve", "--all", "--json", "--insecure", registry.address],
        env={"LINEAGE_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def image_events(store: MlmdStore, task: str) -> list[tuple[str, tuple[str | int, ...]]]:
    return [
        (e.artifact, e.path)
        for e in store.get_events(execution_ids=[task])
        if e.type == EventType.INPUT
    ]


def test_tag_resolved_by_registry(
    registry_service: RegistryService, images: dict[str, str], home: Path, store: MlmdStore
) -> None:
    train = f"{registry_service.address}/kfp/train:v1"
    evaluate = f"{registry_service.address}/kfp/eval:v2"
    record_run(store, {"train": train, "eval": evaluate, "loop-a[0]": train})
    report = resolve_all(home, registry_service)
    assert (report["written"], report["failed"]) == (3, 0)

    repo = f"{registry_service.address}/kfp/train"
    node_id = image_id(repo, images[train])
    [node] = store.get_artifacts([node_id])
    assert node.type == LineageType.IMAGE
    assert node.uri == f"oci://{repo}@{images[train]}"
    assert (node.properties["repository"], node.properties["tag"], node.properties["digest"]) == (
        repo,
        "v1",
        images[train],
    )
    assert image_events(store, "task:r1/train") == [(node_id, ("image", "registry", train))]
    assert image_events(store, "task:r1/loop-a[0]") == [(node_id, ("image", "registry", train))]
    [index] = store.get_artifacts(
        [image_id(f"{registry_service.address}/kfp/eval", images[evaluate])]
    )
    assert set(index.properties["platforms"]) == {"linux/amd64", "linux/arm64"}  # type: ignore[arg-type]

    again = resolve_all(home, registry_service)  # idempotent: nothing left to resolve
    assert (again["written"], again["unchanged"]) == (0, 3)
    assert len(store.list_artifacts(type=LineageType.IMAGE).items) == 2


def test_pinned_digest_needs_no_registry(
    registry_service: RegistryService, home: Path, store: MlmdStore
) -> None:
    pinned = f"no-such-registry.invalid/kfp/app@{PINNED}"
    record_run(store, {"train": pinned})
    report = resolve_all(home, registry_service)
    assert report["written"] == 1
    node_id = image_id("no-such-registry.invalid/kfp/app", PINNED)
    assert image_events(store, "task:r1/train") == [(node_id, ("image", "pinned", pinned))]


def test_image_from_the_spec_when_kfp_left_it_empty(
    registry_service: RegistryService, images: dict[str, str], home: Path, store: MlmdStore
) -> None:
    train = f"{registry_service.address}/kfp/train:v1"
    pinned = f"docker.io/library/python@{PINNED}"
    record_run(store, {"train": "", "prep": ""}, spec_images={"train": train, "prep": pinned})
    resolve_all(home, registry_service)
    assert image_events(store, "task:r1/train") == [
        (
            image_id(f"{registry_service.address}/kfp/train", images[train]),
            ("image", "registry", train),
        )
    ]
    assert image_events(store, "task:r1/prep") == [
        (image_id("docker.io/library/python", PINNED), ("image", "pinned", pinned))
    ]


def test_unresolvable_image_fails_the_run_and_stores_nothing(
    registry_service: RegistryService, images: dict[str, str], home: Path, store: MlmdStore
) -> None:
    record_run(
        store,
        {
            "ok": f"{registry_service.address}/kfp/train:v1",
            "bad": f"{registry_service.address}/kfp/gone:v9",
        },
    )
    result = runner.invoke(
        app,
        ["images", "resolve", "--all", "--insecure", registry_service.address],
        env={"LINEAGE_HOME": str(home)},
    )
    assert result.exit_code != 0
    assert "task:r1/bad" in result.output and "kfp/gone:v9" in result.output
    assert image_events(store, "task:r1/bad") == []
    assert len(image_events(store, "task:r1/ok")) == 1  # the good one is still recorded


def test_pinned_record_helper() -> None:
    task = Execution("task:r/x", KfpType.CONTAINER_EXECUTION)
    assert pinned_record(task, "python:3.11") is None
    record = pinned_record(task, f"python@{PINNED}")
    assert record is not None
    record.validate()
    assert record.events[0].path == ("image", "pinned", f"python@{PINNED}")


def test_a_tag_that_moved_keeps_both_digests_as_nodes(tmp_path: Path) -> None:
    """MLMD keeps artifact names unique per type: two digests of one tag must both store."""
    from lineage.images.lineage import image_node
    from lineage.images.reference import parse_reference

    store = open_sqlite(tmp_path / "mlmd.sqlite")
    ref = parse_reference("registry.example/kfp/train:v1")
    ctx = Context("run:moved", KfpType.PIPELINE_RUN, "moved")
    for digest in ("sha256:" + "a1" * 32, "sha256:" + "b2" * 32):
        store.put_run(RunRecord((ctx,), (), (image_node(ref, digest),), ()))
    stored = store.list_artifacts(type=LineageType.IMAGE).items
    assert {a.properties["digest"] for a in stored} == {
        "sha256:" + "a1" * 32,
        "sha256:" + "b2" * 32,
    }
    assert {a.properties["tag"] for a in stored} == {"v1"}
