"""``ingest spec`` refuses a whole batch for one bad file, refuses IR schemas it does not
know, and gives a spec with a different platform spec a version of its own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from lineage import model
from lineage.cli.main import app
from lineage.store.connect import open_sqlite
from tests.pipelines import PIPELINES


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from kfp import compiler

    directory = tmp_path_factory.mktemp("specs")
    out = {}
    for name in ("hello", "train-chain", "loop-static", "container-only"):
        out[name] = directory / f"{name}.yaml"
        compiler.Compiler().compile(PIPELINES[name], package_path=str(out[name]))
    return out


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("LINEAGE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def ingest(*args: str) -> Any:
    return CliRunner().invoke(app, ["ingest", "spec", *args])


def versions(home: Path) -> dict[str, dict[str, Any]]:
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        found = store.list_contexts(page_size=1000).items
        return {c.id: dict(c.properties) for c in found if c.type == "lineage.PipelineVersion"}
    finally:
        store.close()


def test_a_batch_with_one_truncated_file_writes_none_of_it(
    compiled: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    first = ingest(str(compiled["hello"]), "--json")
    assert first.exit_code == 0, first.stderr
    before = versions(home)
    text = compiled["train-chain"].read_text()
    truncated = tmp_path / "truncated.yaml"
    truncated.write_text(text[: len(text) // 2])
    good = [str(compiled[name]) for name in ("loop-static", "container-only")]

    result = ingest(*good, str(truncated), "--json")

    assert result.exit_code == 4
    errors = result.stderr.strip().splitlines()
    assert errors[0].startswith(f"failed: {truncated}: ")
    assert "nothing written" in errors[-1] and str(truncated) in errors[-1]
    assert "2 good file(s) not written" in errors[-1]
    assert not any(name in result.stderr for name in good)  # only the bad file is blamed
    assert result.stdout == ""  # no spec reported as written
    assert versions(home) == before

    again = ingest(*good, "--json")  # the same files without the bad one: all written
    assert again.exit_code == 0, again.stderr
    assert len(versions(home)) == len(before) + 2


def test_every_bad_file_of_a_batch_is_named(home: Path, tmp_path: Path) -> None:
    bad = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    bad[0].write_text("- a list\n")
    bad[1].write_text("pipelineInfo: {name: x}\n")
    result = ingest(*map(str, bad))
    assert result.exit_code == 4
    assert f"failed: {bad[0]}: " in result.stderr and f"failed: {bad[1]}: " in result.stderr
    assert "(and 1 more); nothing written" in result.stderr


@pytest.mark.parametrize("version", ["99.0.0", "3.0.0", "2.2.0", "0.0.1", "2.1", 2])
def test_a_schema_version_not_understood_is_refused_naming_the_known_ones(
    compiled: dict[str, Path], home: Path, tmp_path: Path, version: object
) -> None:
    doc = yaml.safe_load(compiled["hello"].read_text())
    assert doc["schemaVersion"] == "2.1.0"  # what kfp 2.13's compiler writes
    doc["schemaVersion"] = version
    path = tmp_path / "future.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = ingest(str(path))
    assert result.exit_code == 4
    assert f"{path}: schemaVersion {version!r} is not understood" in result.stderr
    assert "(understood: 2.0.0, 2.1.0)" in result.stderr
    assert not (home / "mlmd.sqlite").exists()


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0"])
def test_the_schema_versions_kfp_writes_are_read(
    compiled: dict[str, Path], home: Path, tmp_path: Path, version: str
) -> None:
    doc = yaml.safe_load(compiled["hello"].read_text())
    doc["schemaVersion"] = version
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = ingest(str(path), "--json")
    assert result.exit_code == 0, result.stderr
    (item,) = json.loads(result.stdout)
    assert versions(home)[item["id"]]["schema_version"] == version


def _with_platform(doc: dict[str, Any], platform: dict[str, Any] | None, path: Path) -> Path:
    text = yaml.safe_dump(doc)
    if platform is not None:
        text += "---\n" + yaml.safe_dump(platform)
    path.write_text(text)
    return path


def _secret(name: str, label: str) -> dict[str, Any]:
    executor = {"secretAsEnv": [{"secretName": name, "keyToEnv": [{"secretKey": "k"}]}]}
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {label: executor}}}}}


def test_specs_that_differ_only_in_their_platform_spec_are_two_versions(
    compiled: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    doc = yaml.safe_load(compiled["hello"].read_text())
    label = next(iter(doc["deploymentSpec"]["executors"]))
    one = _with_platform(doc, _secret("team-a-creds", label), tmp_path / "one.yaml")
    two = _with_platform(doc, _secret("team-b-creds", label), tmp_path / "two.yaml")
    bare = _with_platform(doc, None, tmp_path / "bare.yaml")
    empty = _with_platform(doc, {"platforms": {"kubernetes": {}}}, tmp_path / "empty.yaml")

    first = ingest(str(one), "--json")
    assert first.exit_code == 0, first.stderr
    (item_one,) = json.loads(first.stdout)
    kept = versions(home)[item_one["id"]]
    second = ingest(str(two), str(bare), str(empty), "--json")
    assert second.exit_code == 0, second.stderr
    item_two, item_bare, item_empty = json.loads(second.stdout)

    assert len({item_one["id"], item_two["id"], item_bare["id"]}) == 3
    assert "written 2, unchanged 1" in second.stderr  # never "~ updated": a new version
    assert "~0" in second.stderr
    stored = versions(home)
    assert stored[item_one["id"]] == kept  # the first version is as it was
    assert json.loads(stored[item_two["id"]]["platform_spec"]) == _secret("team-b-creds", label)
    # A spec with no platform config keeps the id of its pipeline spec alone, as before;
    # an empty platform spec (the KFP API sends one) configures nothing: the same version.
    assert item_bare["id"] == model.spec_id(doc) == item_empty["id"]
