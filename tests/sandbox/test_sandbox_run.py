"""`lineage run --runner sandbox`: each task in its pinned image, offline, with bubblewrap.

Real tools throughout: the image is built by tools/build-test-image, pushed with skopeo to
Debian's docker-registry, pulled by the sandbox's cache and run by bwrap; runs are recorded
in a real MLMD SQLite store through the installed `lineage` script.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.model import Execution, ExecutionState, KfpType, RunRecord
from lineage.sandbox.bwrap import bwrap_version
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore
from tests.sandbox.conftest import REPO, BuiltImage
from tests.services import build_oci_layout, layout_digest

LINEAGE = Path(sys.executable).parent / "lineage"
PIPELINES = "tests/sandbox/pipelines.py"


def sandbox_run(
    home: Path, image: str, registry: str, pipeline: str, *args: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env.update(LINEAGE_HOME=str(home), SANDBOX_TEST_IMAGE=image)
    if path is not None:
        env["PATH"] = path
    argv = [str(LINEAGE), "run", f"{PIPELINES}:{pipeline}", "--runner", "sandbox"]
    argv += ["--insecure", registry, "--pipeline-root", str(home / "root"), "--json", *args]
    return subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)


def recorded(home: Path) -> RunRecord | None:
    """The one run recorded under ``home``; None when nothing was."""
    if not (home / "mlmd.sqlite").exists():
        return None
    store: MlmdStore = open_sqlite(home / "mlmd.sqlite")
    try:
        runs = store.list_contexts(type=KfpType.PIPELINE_RUN).items
        return store.get_run(runs[0].id) if runs else None
    finally:
        store.close()


def container_tasks(run: RunRecord) -> list[Execution]:
    return [e for e in run.executions if e.type == KfpType.CONTAINER_EXECUTION]


def task_named(run: RunRecord, name: str) -> Execution:
    return next(t for t in container_tasks(run) if t.properties["task_name"] == name)


@pytest.fixture(scope="module")
def three_steps(tmp_path_factory: pytest.TempPathFactory, test_image: BuiltImage) -> Path:
    home = tmp_path_factory.mktemp("sandbox-three")
    out = sandbox_run(
        home, test_image.reference, test_image.registry.address, "three_steps", "--arg", "rows=30"
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return home


def test_every_task_records_the_digest_that_ran_and_the_runner(
    three_steps: Path, test_image: BuiltImage
) -> None:
    run = recorded(three_steps)
    assert run is not None
    tasks = container_tasks(run)
    assert len(tasks) == 3
    artifacts = {a.id: a for a in run.artifacts}
    for task in tasks:
        assert task.state == ExecutionState.COMPLETE
        assert task.properties["runner"] == "lineage.SandboxRunner"
        assert task.properties["bubblewrap_version"] == bwrap_version()
        options = task.properties["sandbox_options"]
        assert isinstance(options, dict)
        assert options["network"] == "none"
        assert options["env"]["PYTHONHASHSEED"] == "0"
        events = [e for e in run.events if e.execution == task.id and e.path[0] == "image"]
        assert [e.path for e in events] == [("image", "sandbox", test_image.reference)]
        assert artifacts[events[0].artifact].properties["digest"] == test_image.digest
    (context,) = [c for c in run.contexts if c.type == KfpType.PIPELINE_RUN]
    assert context.properties["runner"] == "lineage.SandboxRunner"


def test_the_task_saw_the_fixed_environment(three_steps: Path) -> None:
    run = recorded(three_steps)
    assert run is not None
    train = task_named(run, "train")
    model = next(e for e in run.events if e.execution == train.id and e.path == ("model",))
    uri = next(a.uri for a in run.artifacts if a.id == model.artifact)
    assert task_named(run, "evaluate").properties["outputs"] == {"Output": "weights=152"}
    assert Path(uri).read_text().splitlines()[1] == (
        "HOME=/tmp LC_ALL=C.UTF-8 PYTHONHASHSEED=0 SOURCE_DATE_EPOCH=0 TZ=UTC"
    )


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on the host's 127.0.0.1 that does accept connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_no_network_inside_the_sandbox(
    tmp_path: Path, test_image: BuiltImage, listener: int
) -> None:
    socket.create_connection(("127.0.0.1", listener), timeout=5).close()  # open on the host
    home = tmp_path / "home"
    out = sandbox_run(
        home,
        test_image.reference,
        test_image.registry.address,
        "network",
        "--arg",
        f"port={listener}",
    )
    assert out.returncode == 1
    run = recorded(home)
    assert run is not None
    (task,) = container_tasks(run)
    assert task.state == ExecutionState.FAILED
    assert "ConnectionRefusedError" in str(task.properties["error"])


def test_a_host_path_outside_the_inputs_is_not_there(
    tmp_path: Path, test_image: BuiltImage
) -> None:
    assert (REPO / "pyproject.toml").exists()
    home = tmp_path / "home"
    out = sandbox_run(
        home,
        test_image.reference,
        test_image.registry.address,
        "host_path",
        "--arg",
        f"path={REPO}",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run = recorded(home)
    assert run is not None
    (task,) = container_tasks(run)
    assert task.properties["outputs"] == {"Output": "nothing"}


def _sleeps(seconds: int) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in ps.stdout.splitlines() if line.strip() == f"sleep {seconds}"]


def test_a_task_past_its_timeout_is_killed_with_its_children(
    tmp_path: Path, test_image: BuiltImage
) -> None:
    seconds = 4000 + os.getpid() % 1000  # a duration no other process sleeps
    home = tmp_path / "home"
    out = sandbox_run(
        home,
        test_image.reference,
        test_image.registry.address,
        "too_long",
        "--arg",
        f"seconds={seconds}",
        "--task-timeout",
        "20",
    )
    assert out.returncode == 1
    run = recorded(home)
    assert run is not None
    (task,) = container_tasks(run)
    assert task.state == ExecutionState.FAILED
    assert "timeout" in str(task.properties["error"])
    assert _sleeps(seconds) == []


def _tamper(registry_home: Path, digest: str) -> None:
    hexdigest = digest.removeprefix("sha256:")
    data = (
        registry_home
        / "storage/docker/registry/v2/blobs/sha256"
        / hexdigest[:2]
        / hexdigest
        / "data"
    )
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same length, other bytes
    data.write_bytes(bytes(raw))


def test_a_tampered_blob_is_refused_before_anything_runs(
    tmp_path: Path, test_image: BuiltImage
) -> None:
    layout = build_oci_layout(tmp_path / "layout", {"etc/tampered": os.urandom(64)})
    test_image.registry.push(layout, "kfp-lineage/tampered:v1")
    manifest = json.loads(
        (layout / "blobs/sha256" / layout_digest(layout).removeprefix("sha256:")).read_text()
    )
    layer = manifest["layers"][0]["digest"]
    _tamper(test_image.registry.home, layer)
    reference = f"{test_image.registry.address}/kfp-lineage/tampered@{layout_digest(layout)}"
    home = tmp_path / "home"
    out = sandbox_run(home, reference, test_image.registry.address, "three_steps")
    assert out.returncode != 0
    assert layer in out.stderr
    assert "Traceback" not in out.stderr
    assert not (home / "root").exists() or not any((home / "root").iterdir())
    assert recorded(home) is None


def test_without_bwrap_one_line_names_the_package(tmp_path: Path, test_image: BuiltImage) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = sandbox_run(
        tmp_path / "home",
        test_image.reference,
        test_image.registry.address,
        "three_steps",
        path=str(bin_dir),
    )
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert "bubblewrap" in lines[0]
