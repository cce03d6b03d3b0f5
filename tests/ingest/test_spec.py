"""`lineage ingest spec` over 22 pipelines the tests compile themselves with the kfp SDK.

The expected facts are read from the compiled YAML by the small oracle below,
independently of lineage.ingest.spec.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.store.connect import open_sqlite
from tests.pipelines import PIPELINES, compile_all

SYSTEM_TYPES = {
    "system.Artifact",
    "system.Dataset",
    "system.Model",
    "system.Metrics",
    "system.ClassificationMetrics",
    "system.SlicedClassificationMetrics",
    "system.HTML",
    "system.Markdown",
}


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return compile_all(tmp_path_factory.mktemp("specs"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("LINEAGE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def ingest(*args: str) -> Any:
    return CliRunner().invoke(app, ["ingest", "spec", *args])


# --- the oracle: facts read straight from the YAML ----------------------------------


def oracle_tasks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task by path, with the kind, image and embedded source its YAML names."""
    executors = doc["deploymentSpec"]["executors"]
    found: dict[str, dict[str, Any]] = {}

    def visit(component: dict[str, Any], prefix: str) -> None:
        for key, task in component.get("dag", {}).get("tasks", {}).items():
            comp = doc["components"][task["componentRef"]["name"]]
            path = prefix + key
            if "dag" in comp:
                found[path] = {"kind": "dag", "image": None, "source": None}
                visit(comp, path + "/")
                continue
            executor = executors[comp["executorLabel"]]
            if "importer" in executor:
                found[path] = {"kind": "importer", "image": None, "source": None}
                continue
            command = executor["container"].get("command", [])
            embeds = any("ephemeral_component.py" in part for part in command)
            found[path] = {
                "kind": "container",
                "image": executor["container"]["image"],
                "source": command[-1] if embeds else None,
            }

    visit(doc["root"], "")
    return found


def artifact_types(doc: dict[str, Any]) -> set[str]:
    text = json.dumps(doc)
    return {t for t in SYSTEM_TYPES if f'"schemaTitle": "{t}"' in text}


# --- tests ---------------------------------------------------------------------------


def test_the_corpus_covers_every_feature_the_issue_names(compiled: dict[str, Path]) -> None:
    assert len(compiled) == len(PIPELINES) >= 20
    docs = [yaml.safe_load(p.read_text()) for p in compiled.values()]
    kinds = {t["kind"] for d in docs for t in oracle_tasks(d).values()}
    assert kinds == {"container", "importer", "dag"}
    text = "\n".join(p.read_text() for p in compiled.values())
    for feature in ("parameterIterator", "triggerPolicy", "taskFinalStatus", "ephemeral_component"):
        assert feature in text
    assert set().union(*(artifact_types(d) for d in docs)) == SYSTEM_TYPES
    images = {t["image"] for d in docs for t in oracle_tasks(d).values() if t["image"]}
    assert any("@sha256:" in i for i in images) and any("@" not in i for i in images)


def test_json_reports_each_spec_as_its_yaml_says(compiled: dict[str, Path], home: Path) -> None:
    result = ingest(*[str(p) for p in compiled.values()], "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert [item["file"] for item in printed] == [str(p) for p in compiled.values()]
    for item in printed:
        doc = yaml.safe_load(Path(item["file"]).read_text())
        assert item["pipeline"] == doc["pipelineInfo"]["name"]
        assert item["id"].startswith("spec:sha256:") and len(item["id"]) == 12 + 64
        expected = oracle_tasks(doc)
        tasks = {t["path"]: t for t in item["tasks"]}
        assert set(tasks) == set(expected), item["file"]
        for path, want in expected.items():
            got = tasks[path]
            assert got["kind"] == want["kind"], (item["file"], path)
            assert got["image"] == want["image"], (item["file"], path)
            assert got["pinned"] == (None if want["image"] is None else "@sha256:" in want["image"])
            digest = (
                want["source"] and "sha256:" + hashlib.sha256(want["source"].encode()).hexdigest()
            )
            assert got["source_digest"] == digest, (item["file"], path)
            assert got["parent"] == (path.rpartition("/")[0] or None)
        images = sorted({t["image"] for t in expected.values() if t["image"]})
        assert item["images"] == [{"reference": i, "pinned": "@sha256:" in i} for i in images]
    assert len({item["id"] for item in printed}) == len(printed)


def test_the_store_holds_one_version_per_spec_under_its_pipeline(
    compiled: dict[str, Path], home: Path
) -> None:
    result = ingest(*[str(p) for p in compiled.values()], "--json")
    assert result.exit_code == 0, result.stderr
    printed = {item["file"]: item for item in json.loads(result.stdout)}
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        for file, item in printed.items():
            doc = yaml.safe_load(Path(file).read_text())
            (version,) = store.get_contexts([item["id"]])
            assert version.type == "lineage.PipelineVersion"
            assert version.parents == (f"pipeline:{item['pipeline']}",)
            # The whole spec is kept (ints and whole floats compare equal in Python).
            assert json.loads(str(version.properties["pipeline_spec"])) == doc
            assert version.properties["pipeline_name"] == item["pipeline"]
            assert version.properties["sdk_version"] == doc["sdkVersion"]
        counts = store.counts()
        pipelines = {item["pipeline"] for item in printed.values()}
        assert counts.by_type["system.Pipeline"] == len(pipelines)
        assert counts.by_type["lineage.PipelineVersion"] == len(printed)
        assert (counts.executions, counts.artifacts, counts.events) == (0, 0, 0)
    finally:
        store.close()


def snapshot(home: Path) -> tuple[Any, Any]:
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        ids = [c.id for c in store.list_contexts(page_size=1000).items]
        return store.counts().as_dict(), store.stamps(ids)
    finally:
        store.close()


def test_ingesting_the_same_specs_twice_changes_nothing(
    compiled: dict[str, Path], home: Path
) -> None:
    files = [str(p) for p in compiled.values()]
    assert ingest(*files).exit_code == 0
    before = snapshot(home)
    again = ingest(*files)
    assert again.exit_code == 0, again.stderr
    assert f"written 0, unchanged {len(files)}" in again.stdout.replace("\n", " ")
    assert snapshot(home) == before


@pytest.fixture
def future_spec(compiled: dict[str, Path], tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """hello.yaml as a newer SDK might write it, plus a hand-written platform spec."""
    doc = yaml.safe_load(compiled["hello"].read_text())
    doc["newTopLevelField"] = {"introducedIn": "kfp-9.0", "values": [1, 2]}
    label = next(iter(doc["deploymentSpec"]["executors"]))
    doc["deploymentSpec"]["executors"][label]["container"]["futureOption"] = {"on": True}
    doc["root"]["dag"]["tasks"]["say"]["taskInfo"]["futureTaskField"] = "kept"
    platform = {
        "platforms": {
            "kubernetes": {
                "deploymentSpec": {
                    "executors": {
                        label: {"pvcMount": [{"constant": "training-data", "mountPath": "/data"}]}
                    }
                }
            }
        }
    }
    path = tmp_path / "future.yaml"
    path.write_text(yaml.safe_dump(doc) + "---\n" + yaml.safe_dump(platform))
    return path, platform


def test_unknown_fields_and_the_platform_spec_are_kept(
    future_spec: tuple[Path, dict[str, Any]], home: Path
) -> None:
    path, platform = future_spec
    result = ingest(str(path), "--json")
    assert result.exit_code == 0, result.stderr
    (item,) = json.loads(result.stdout)
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        (version,) = store.get_contexts([item["id"]])
    finally:
        store.close()
    kept = json.loads(str(version.properties["pipeline_spec"]))
    assert kept["newTopLevelField"] == {"introducedIn": "kfp-9.0", "values": [1, 2]}
    label = next(iter(kept["deploymentSpec"]["executors"]))
    assert kept["deploymentSpec"]["executors"][label]["container"]["futureOption"] == {"on": True}
    assert kept["root"]["dag"]["tasks"]["say"]["taskInfo"]["futureTaskField"] == "kept"
    assert json.loads(str(version.properties["platform_spec"])) == platform
    assert version.properties["unknown_fields"] == {"fields": ["newTopLevelField"]}


def test_malformed_yaml_fails_naming_the_file_and_nothing_is_written(
    compiled: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("pipelineInfo:\n  name: [unclosed\n")
    result = ingest(str(compiled["hello"]), str(bad))
    assert result.exit_code == 4
    assert str(bad) in result.stderr and "malformed YAML" in result.stderr
    assert "nothing written" in result.stderr
    assert not (home / "mlmd.sqlite").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("- just\n- a list\n", "expected a mapping"),
        ("pipelineInfo:\n  name: x\nroot: {}\n", "no deploymentSpec"),
    ],
)
def test_what_is_not_a_compiled_spec_fails_naming_the_file(
    home: Path, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "not-a-spec.yaml"
    path.write_text(content)
    result = ingest(str(path))
    assert result.exit_code == 4
    assert str(path) in result.stderr and message in result.stderr
    assert not (home / "mlmd.sqlite").exists() or snapshot(home)[0]["contexts"] == 0


def test_a_spec_from_the_api_gets_the_id_of_the_same_compiled_yaml(
    compiled: dict[str, Path],
) -> None:
    """The KFP API returns specs as JSON, where the SDK's YAML ``5.0`` reads ``5``."""
    from lineage.ingest.spec import load_spec_documents, parse_spec

    text = compiled["train-chain"].read_text()
    assert "10.0" in text  # the rows default, written by the SDK as a float
    from_yaml = parse_spec(*load_spec_documents(text))

    def ints(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: ints(v) for k, v in value.items()}
        if isinstance(value, list):
            return [ints(v) for v in value]
        return value

    wrapped = {"pipeline_spec": ints(yaml.safe_load(text)), "platform_spec": {"platforms": {}}}
    spec, platform = load_spec_documents(json.dumps(wrapped, indent=1))
    assert platform == {"platforms": {}}
    assert parse_spec(spec, platform).id == from_yaml.id
