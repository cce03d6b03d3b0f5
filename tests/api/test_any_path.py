"""Every field resolves the same way by whichever path it is reached.

Each query of the auditor query book (graphql/queries/) runs against the recorded
store. Every object of its answer that has an id is then asked for again through
the direct lookups of that id (``node(id:)`` and the typed lookup, such as
``task(id:)``), with the same selection the query made at that place, and the two
answers must be equal field for field. A lineage reference (``LineageNodeRef``) is
compared, on the fields it shares, with the node it refers to.

Nothing here names a field of the book: the selections come from the queries and the
lookups from the published schema, so a new query or field is covered as it is added
(a new query needs only its variables in ``_variables``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import (
    FieldNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    print_ast,
    visit,
)

from lineage.model import KfpType
from lineage.store.mlmd import MlmdStore
from tests.api.conftest import BOOK, gql
from tests.api.world import IMAGE_A, IMAGE_B, World, dataset_of, model_of

SCHEMA_FILE = BOOK.parent / "schema.graphql"
ID_ALIAS, TYPE_ALIAS = "_pathId", "_pathType"


def _variables(store: MlmdStore, world: World) -> dict[str, list[dict[str, Any]]]:
    """Arguments for each query of the book, from the recorded world."""
    training = world.run_of("training")
    sweep = sorted(r for n, r in world.runs.items() if n.startswith("sweep"))
    models = [model_of(store, r).id for r in sweep]
    every_run = [*world.runs.values(), world.team_b_run]
    return {
        "best_model": [{"pipeline": "sweep", "metric": "accuracy", "first": 3}],
        "data_to_model_path": [
            {"from": dataset_of(store, training).id, "to": model_of(store, training).id}
        ],
        "model_diff": [{"from": models[0], "to": models[-1]}],
        "model_inputs": [{"model": model_of(store, world.run_of(n)).id} for n in world.runs],
        "model_rebuilds": [{"model": model_of(store, training).id}],
        "rebuild_plan": [{"model": model_of(store, training).id}],
        "models_by_image": [{"digest": IMAGE_A}, {"digest": IMAGE_B}],
        "run_overview": [{"run": r} for r in every_run],
        "runs_of_pipeline": [{"pipeline": "sweep"}, {"pipeline": "training"}],
        "snapshot_consumers": [{"snapshot": world.snapshot}, {"snapshot": world.model_snapshot}],
    }


@dataclass(frozen=True)
class Reached:
    """One object of an answer: where it was, what it is, and what was selected on it."""

    where: str
    static: GraphQLNamedType
    typename: str
    id: str
    selection: SelectionSetNode
    value: dict[str, Any]


def _field(name: str, alias: str | None = None) -> FieldNode:
    return FieldNode(
        name=NameNode(value=name),
        alias=NameNode(value=alias) if alias else None,
        arguments=(),
        directives=(),
    )


def _has_id(t: GraphQLNamedType) -> bool:
    return isinstance(t, GraphQLObjectType | GraphQLInterfaceType) and "id" in t.fields


def _tag(selection: SelectionSetNode, parent: GraphQLNamedType, schema: GraphQLSchema) -> Any:
    """The selection with each object's id and type name added (under aliases)."""
    out: list[Any] = []
    for s in selection.selections:
        if isinstance(s, FieldNode) and s.selection_set is not None:
            assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            inner = get_named_type(parent.fields[s.name.value].type)
            s = FieldNode(
                name=s.name,
                alias=s.alias,
                arguments=s.arguments,
                directives=s.directives,
                selection_set=_tag(s.selection_set, inner, schema),
            )
        elif isinstance(s, InlineFragmentNode):
            cond = schema.get_type(s.type_condition.name.value) if s.type_condition else parent
            assert cond is not None
            s = InlineFragmentNode(
                type_condition=s.type_condition,
                directives=s.directives,
                selection_set=_tag(s.selection_set, cond, schema),
            )
        out.append(s)
    extra = [_field("__typename", TYPE_ALIAS)]
    if _has_id(parent):
        extra.append(_field("id", ID_ALIAS))
    return SelectionSetNode(selections=(*out, *extra))


def _applies(s: InlineFragmentNode, typename: str, schema: GraphQLSchema) -> bool:
    if s.type_condition is None:
        return True
    cond, runtime = schema.get_type(s.type_condition.name.value), schema.get_type(typename)
    if cond is runtime:
        return True
    return isinstance(runtime, GraphQLObjectType) and cond in runtime.interfaces


def _reached(
    value: Any,
    selection: SelectionSetNode,
    static: GraphQLNamedType,
    schema: GraphQLSchema,
    where: str,
) -> Iterator[Reached]:
    """Every object with an id in an answer, depth first."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _reached(item, selection, static, schema, f"{where}[{i}]")
        return
    if not isinstance(value, dict):
        return
    typename = value[TYPE_ALIAS]
    if value.get(ID_ALIAS) is not None:
        yield Reached(where, static, typename, value[ID_ALIAS], selection, value)
    runtime = schema.get_type(typename)
    assert isinstance(runtime, GraphQLObjectType)
    for s in _flatten(selection, typename, schema):
        if s.selection_set is None:
            continue
        key = (s.alias or s.name).value
        inner = get_named_type(runtime.fields[s.name.value].type)
        yield from _reached(value[key], s.selection_set, inner, schema, f"{where}.{key}")


def _flatten(selection: SelectionSetNode, typename: str, schema: GraphQLSchema) -> list[FieldNode]:
    fields: list[FieldNode] = []
    for s in selection.selections:
        if isinstance(s, FieldNode):
            fields.append(s)
        elif isinstance(s, InlineFragmentNode) and _applies(s, typename, schema):
            fields += _flatten(s.selection_set, typename, schema)
    return fields


def _lookups(schema: GraphQLSchema) -> dict[str, list[str]]:
    """Root fields that take exactly ``id: ID!``, by the type each returns."""
    query = schema.query_type
    assert query is not None
    out: dict[str, list[str]] = {}
    for name, f in query.fields.items():
        args = f.args
        if list(args) == ["id"] and isinstance(args["id"].type, GraphQLNonNull):
            out.setdefault(get_named_type(f.type).name, []).append(name)
    return out


def _strip(value: Any) -> Any:
    """An answer without the added id and type name."""
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in (ID_ALIAS, TYPE_ALIAS)}
    return value


def _differences(here: Any, there: Any, where: str, lookup: str) -> list[str]:
    """Each leaf that differs between two answers, by its path."""
    if isinstance(here, dict) and isinstance(there, dict):
        return [
            d
            for k in sorted(set(here) | set(there))
            for d in _differences(here.get(k), there.get(k), f"{where}.{k}", lookup)
        ]
    if isinstance(here, list) and isinstance(there, list) and len(here) == len(there):
        return [
            d
            for i, (a, b) in enumerate(zip(here, there, strict=True))
            for d in _differences(a, b, f"{where}[{i}]", lookup)
        ]
    return [] if here == there else [f"{where}: {here!r} here, {there!r} from {lookup}"]


def _direct(
    client: TestClient,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    lookup: str,
    node_id: str,
    on: str,
    selection: SelectionSetNode,
) -> dict[str, Any] | None:
    """The same selection, asked of the lookup ``lookup(id:)`` (the query's variables kept)."""
    used = _variables_in(selection)
    definitions = " ".join(
        print_ast(d) for d in operation.variable_definitions or () if d.variable.name.value in used
    )
    signature = f"({definitions}, $pathLookupId: ID!)" if definitions else "($pathLookupId: ID!)"
    body = print_ast(selection)
    text = (
        f"query Direct{signature} {{ direct: {lookup}(id: $pathLookupId) "
        f"{{ __typename ... on {on} {body} }} }}"
    )
    kept = {k: v for k, v in variables.items() if k in used}
    answer = gql(client, text, {**kept, "pathLookupId": node_id})
    assert not answer.get("errors"), (text, answer["errors"])
    found: dict[str, Any] | None = answer["data"]["direct"]
    return found


def _variables_in(selection: SelectionSetNode) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            names.add(node.name.value)

    visit(selection, Collect())
    return names


def _cases(store: MlmdStore, world: World) -> Iterator[tuple[str, dict[str, Any]]]:
    variables = _variables(store, world)
    book = sorted(p.stem for p in BOOK.glob("*.graphql"))
    missing = sorted(set(book) - set(variables))
    assert not missing, f"give variables for the new queries {missing} in _variables"
    for name in book:
        for v in variables[name]:
            yield name, v


def _compare_ref(
    client: TestClient, schema: GraphQLSchema, reached: Reached, where: str
) -> list[str]:
    """A reference's own fields against the node it names, on the fields they share."""
    answer = gql(
        client,
        "query R($id: ID!) { node(id: $id) { __typename } }",
        {"id": reached.id},
    )
    node = answer["data"]["node"]
    assert node is not None, f"{where}: {reached.id} is referenced but node() does not find it"
    concrete = schema.get_type(node["__typename"])
    assert isinstance(concrete, GraphQLObjectType)
    ref = schema.get_type(reached.typename)
    assert isinstance(ref, GraphQLObjectType)
    shared = [
        f
        for f in _flatten(reached.selection, reached.typename, schema)
        if f.selection_set is None
        and not f.arguments
        and f.name.value in concrete.fields
        and get_named_type(concrete.fields[f.name.value].type)
        == get_named_type(ref.fields[f.name.value].type)
    ]
    if not shared:
        return []
    sub = SelectionSetNode(selections=tuple(_field(f.name.value) for f in shared))
    text = f"query R($id: ID!) {{ node(id: $id) {{ ... on {concrete.name} {print_ast(sub)} }} }}"
    direct = gql(client, text, {"id": reached.id})["data"]["node"]
    return [
        f"{where}.{f.name.value}: {reached.value[(f.alias or f.name).value]!r} here, "
        f"{direct[f.name.value]!r} from node(id:)"
        for f in shared
        if reached.value[(f.alias or f.name).value] != direct[f.name.value]
    ]


def test_every_object_of_the_book_answers_as_its_direct_lookup(
    client: TestClient, store: MlmdStore, world: World
) -> None:
    schema = build_schema(Path(SCHEMA_FILE).read_text())
    lookups = _lookups(schema)
    query_type = schema.query_type
    assert query_type is not None
    node_iface = schema.get_type("LineageNode")
    mismatches: list[str] = []
    compared: set[str] = set()
    references = 0
    for name, variables in _cases(store, world):
        document = parse((BOOK / f"{name}.graphql").read_text())
        (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        tagged = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=_tag(operation.selection_set, query_type, schema),
        )
        answer = gql(client, print_ast(tagged), variables)
        assert not answer.get("errors"), (name, answer["errors"])
        for reached in _reached(answer["data"], tagged.selection_set, query_type, schema, name):
            where = f"{reached.where} ({reached.id})"
            runtime = schema.get_type(reached.typename)
            assert isinstance(runtime, GraphQLObjectType)
            if node_iface not in runtime.interfaces:
                mismatches += _compare_ref(client, schema, reached, where)
                references += 1
                continue
            mine = _strip(reached.value)
            for lookup in ["node", *lookups.get(reached.typename, [])]:
                direct = _direct(
                    client,
                    operation,
                    variables,
                    lookup,
                    reached.id,
                    reached.static.name,
                    reached.selection,
                )
                compared.add(reached.typename)
                if direct is None:
                    mismatches.append(f"{where}: {lookup}(id:) finds nothing")
                    continue
                direct.pop("__typename")
                mismatches += _differences(mine, _strip(direct), f"{where}", f"{lookup}(id:)")
    assert not mismatches, "\n".join(mismatches[:40])
    # The book reaches every kind it is about, so the comparison above is not empty.
    assert {"Run", "Task", "Artifact", "Snapshot", "Pipeline"} <= compared, compared
    assert references > 0


@pytest.mark.parametrize("path", ["run", "task", "both"])
def test_a_task_shows_its_image_digest_by_every_path(
    client: TestClient, store: MlmdStore, world: World, path: str
) -> None:
    run = world.run_of("training")
    task = next(
        e.id for e in store.get_run(run).executions if e.type == KfpType.CONTAINER_EXECUTION
    )
    via_run = f'r: run(id: "{run}") {{ tasks {{ id image {{ digest knownBy }} }} }}'
    via_task = f't: task(id: "{task}") {{ image {{ digest knownBy }} }}'
    chosen = {"run": [via_run], "task": [via_task], "both": [via_run, via_task]}[path]
    answer = gql(client, "{" + " ".join(chosen) + "}")
    assert not answer.get("errors"), answer["errors"]
    data = answer["data"]
    images = []
    if "r" in data:
        images += [t["image"] for t in data["r"]["tasks"] if t["id"] == task]
    if "t" in data:
        images.append(data["t"]["image"])
    assert images and all(i == {"digest": IMAGE_A, "knownBy": "pinned"} for i in images), images
