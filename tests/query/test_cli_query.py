"""``lineage lineage|impact|diff|path`` on an embedded store, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.store.mlmd import MlmdStore
from tests.query import scenario
from tests.query.scenario import Scenario


@pytest.fixture
def recorded(store: MlmdStore) -> Scenario:
    sc = scenario.build()
    scenario.write(store, sc)
    return sc


@pytest.fixture
def env(store: MlmdStore) -> dict[str, str]:
    # No LINEAGE_NEO4J__URI: auto answers from MLMD without a word.
    return {"LINEAGE_STORE__PATH": store.location, "LINEAGE_HOME": str(Path(store.location).parent)}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_lineage_json_is_the_answer_of_the_embedded_store(
    env: dict[str, str], recorded: Scenario
) -> None:
    model = recorded.out(recorded.r2, "train/model")
    code, out, err = run(env, "lineage", model, "--depth", "1", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["backend"] == "mlmd"
    assert {n["id"] for n in answer["nodes"]} == {model, "task:r2/train"}
    assert (answer["truncated"], answer["truncated_by"]) == (True, "depth")
    assert err == ""


def test_lineage_downstream_table_lists_the_snapshot(
    env: dict[str, str], recorded: Scenario
) -> None:
    code, out, _ = run(env, "lineage", recorded.raw.id, "--downstream", "--depth", "1")
    assert code == 0
    assert "Snapshot" in out and "SNAPSHOT_OF" in out


def test_impact_by_image_pages_with_a_cursor(env: dict[str, str], recorded: Scenario) -> None:
    digest = str(recorded.prep_image.properties["digest"])
    code, out, err = run(env, "impact", "--image", digest, "--first", "2", "--json")
    assert code == 0, err
    page = json.loads(out)
    assert (page["total_models"], len(page["models"])) == (3, 2)
    code, out, _ = run(env, "impact", "--image", digest, "--after", page["cursor"], "--json")
    rest = json.loads(out)
    seen = [m["id"] for m in page["models"]] + [m["id"] for m in rest["models"]]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 3
    assert rest["cursor"] is None


def test_diff_json_names_the_changed_parameter(env: dict[str, str], recorded: Scenario) -> None:
    a, b = recorded.out(recorded.r1, "train/model"), recorded.out(recorded.r2, "train/model")
    code, out, err = run(env, "diff", a, b, "--json")
    assert code == 0, err
    entries = {(e["category"], e["key"]): e for e in json.loads(out)["entries"]}
    assert entries[("PARAMETER", "train/lr")]["change"] == "CHANGED"


def test_path_prints_the_chain(env: dict[str, str], recorded: Scenario) -> None:
    target = recorded.out(recorded.r1, "train/model")
    code, out, _ = run(env, "path", recorded.raw.id, target)
    assert code == 0
    assert out.strip().startswith(recorded.raw.id) and out.strip().endswith(target)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["lineage", "artifact:nowhere"], 5, "no lineage node"),
        (["lineage", "artifact:gs://data/raw.csv", "--depth", "-3"], 4, "depth"),
        (["lineage", "artifact:gs://data/raw.csv", "--depth", "5000"], 4, "depth"),
        (["lineage", "artifact:gs://data/raw.csv", "--as-of", "yesterday"], 4, "--as-of"),
        (["lineage", "artifact:gs://data/raw.csv", "--upstream", "--downstream"], 4, "one of"),
        (["impact", "--artifact", "a", "--image", "b"], 4, "exactly one"),
        (["impact", "--image", "sha256:feed"], 5, "no image"),
        (["diff", "task:r1/train", "artifact:gs://data/raw.csv"], 4, "model artifacts"),
        (["lineage", "artifact:gs://data/raw.csv", "--backend", "neo4j"], 2, "LINEAGE_NEO4J__URI"),
    ],
)
def test_bad_input_exits_non_zero_with_one_clear_line(
    env: dict[str, str], recorded: Scenario, args: list[str], code: int, message: str
) -> None:
    exit_code, _, err = run(env, *args)
    assert exit_code == code
    assert message in err
    assert "Traceback" not in err
