"""The published contract: graphql/schema.graphql is the code's schema, and every
document of the query book is valid against it, named, and documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from lineage.api.export import DEFAULT_PATH, exported

BOOK = sorted((Path(__file__).resolve().parents[2] / "graphql" / "queries").glob("*.graphql"))


def test_exported_schema_has_not_drifted() -> None:
    assert DEFAULT_PATH.exists(), "run python -m lineage.api.export"
    assert DEFAULT_PATH.read_text() == exported(), (
        "graphql/schema.graphql differs from the code: run python -m lineage.api.export"
    )


def test_the_schema_names_the_required_root_fields() -> None:
    schema = build_schema(DEFAULT_PATH.read_text())
    query = schema.query_type
    assert query is not None
    for name, args in {
        "run": {"id"},
        "runs": {"pipeline", "state", "first", "after"},
        "artifact": {"id"},
        "artifacts": {"type", "digest", "uri", "first", "after"},
        "lineage": {"id", "direction", "depth", "limit", "asOf"},
        "impact": {"imageDigest", "artifactId", "snapshotId", "first", "after", "asOf"},
        "diff": {"from", "to", "asOf"},
        "path": {"from", "to"},
        "rebuildPlan": {"modelId"},
        "hermeticity": {"modelId"},
        "rebuilds": {"modelId", "first"},
        "rebuild": {"id"},
    }.items():
        assert name in query.fields, name
        assert args <= set(query.fields[name].args), (name, set(query.fields[name].args))
    for type_name in (
        "Pipeline",
        "PipelineVersion",
        "Run",
        "Task",
        "Artifact",
        "Image",
        "Snapshot",
        "Metric",
        "LineageNode",
        "Rebuild",
    ):
        assert schema.get_type(type_name) is not None, type_name


def test_the_book_holds_the_auditor_questions() -> None:
    names = {p.stem for p in BOOK}
    assert {
        "model_inputs",
        "models_by_image",
        "snapshot_consumers",
        "model_diff",
        "best_model",
        "model_rebuilds",
        "rebuild_plan",
    } <= names


@pytest.mark.parametrize("path", BOOK, ids=[p.stem for p in BOOK])
def test_book_document_is_valid_named_and_documented(path: Path) -> None:
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert len(header) >= 2, f"{path.name}: start with a comment header saying what it answers"
    document = parse(text)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1 and operations[0].name is not None, path.name
    assert header[0].startswith(f"# {operations[0].name.value}:"), path.name
    errors = validate(build_schema(DEFAULT_PATH.read_text()), document)
    assert not errors, errors
