"""Impact from a snapshot, end to end through the CLI, on both backends.

``lineage run --snapshot-inputs`` snapshots what each task read; impact from such a
snapshot must name the models and runs its data fed, as impact from the artifact
does. A snapshot made on its own (``lineage snapshot create``) is a lineage node.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require
from tests.services import Neo4jService, wipe_neo4j

LINEAGE = Path(sys.executable).parent / "lineage"
REPO = Path(__file__).resolve().parents[2]


def lineage(args: list[str], home: Path, neo4j: str | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    if neo4j:
        env["LINEAGE_NEO4J__URI"] = neo4j
    out = subprocess.run(
        [str(LINEAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, f"lineage {' '.join(args)}: {out.stderr[-3000:]}"
    return dict(json.loads(out.stdout)) if "--json" in args else {"stdout": out.stdout}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    base = tmp_path_factory.mktemp("snap-impact")
    summary = lineage(
        [
            "run",
            "lineage/examples/training.py:training_pipeline",
            "--arg",
            "rows=50",
            "--arg",
            "epochs=3",
            "--pipeline-root",
            str(base / "root"),
            "--snapshot-inputs",
            "--json",
        ],
        base / "home",
    )
    return base / "home", summary


def ids(answer: dict[str, object], key: str) -> list[str]:
    items = answer[key]
    assert isinstance(items, list)
    return sorted(str(item["id"]) for item in items)


def test_impact_from_each_input_snapshot_equals_impact_from_its_artifact(
    ran: tuple[Path, dict[str, object]], neo4j_service: Neo4jService
) -> None:
    require("neo4j", neo4j_service)
    home, summary = ran
    with neo4j_service.driver() as driver:
        wipe_neo4j(driver)
    uri = neo4j_service.bolt_uri
    lineage(["graph", "sync", "--full"], home, uri)
    taken = summary["snapshots"]
    assert isinstance(taken, list) and taken
    models_seen: set[str] = set()
    for entry in taken:
        for backend in ("mlmd", "neo4j"):
            ask = ["impact", "--backend", backend, "--json"]
            of_artifact = lineage([*ask, "--artifact", entry["artifact"]], home, uri)
            of_snapshot = lineage([*ask, "--snapshot", entry["snapshot"]], home, uri)
            assert of_snapshot["backend"] == backend
            assert ids(of_snapshot, "models") == ids(of_artifact, "models"), (entry, backend)
            assert ids(of_snapshot, "runs") == ids(of_artifact, "runs"), (entry, backend)
            models_seen.update(ids(of_snapshot, "models"))
    # The trainer's input snapshot feeds the model: impact is not empty.
    assert models_seen


def test_a_snapshot_made_on_its_own_is_a_lineage_node(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("a,b\n1,2\n")
    created = lineage(["snapshot", "create", str(data), "--name", "golden", "--json"], home)
    snap = str(created["id"])
    answer = lineage(["impact", "--snapshot", snap, "--backend", "mlmd", "--json"], home)
    assert (answer["total_models"], answer["total_runs"]) == (0, 0)
    assert ids(answer, "sources") == [snap]
    node = lineage(["lineage", snap, "--backend", "mlmd", "--json"], home)
    assert node["start"]["id"] == snap  # type: ignore[index]
    assert node["start"]["kind"] == "Snapshot"  # type: ignore[index]
    # Again, under another name: the same node, its names merged, nothing duplicated.
    lineage(["snapshot", "create", str(data), "--name", "release", "--json"], home)
    again = lineage(["lineage", snap, "--backend", "mlmd", "--json"], home)
    assert again["start"]["properties"]["names"] == "golden,release"  # type: ignore[index]
    assert len(again["nodes"]) == 1  # type: ignore[arg-type]
