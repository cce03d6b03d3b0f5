"""Bounds on what one GraphQL document may ask (size, tokens, depth, aliases, cost,
pages), and the cost of an operation, estimated from the document before anything runs.

Cost counts objects, not values: each object field costs 1, and a list multiplies
the cost of what is selected under it by its page size (``first`` or ``limit``)
or, for an unpaged list, by DEFAULT_LIST_SIZE. The lists directly under a paged
field are that page, so they do not multiply again. Scalars and value objects
(all of whose fields are scalars: a parameter, a metric) are free: the object
holding them was paid for. Page arguments over the limits are refused here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.utilities import get_operation_ast

from lineage.errors import BadInputError, LimitExceededError

# An unpaged list (a task's inputs, a run's tasks) is assumed to hold this many items.
DEFAULT_LIST_SIZE = 10
PAGE_ARGS = ("first", "limit")


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_document_chars: int = 20_000
    max_cost: int = 50_000
    max_page: int = 500
    max_lineage_nodes: int = 10_000
    max_scan: int = 5_000

    def check_page(self, first: int, what: str = "first") -> None:
        """Resolvers call this too: the cost check may not have seen a computed value."""
        if first < 0:
            raise BadInputError(f"{what} must not be negative, got {first}")
        if first > self.max_page:
            raise LimitExceededError(f"{what} is {first}; the largest page is {self.max_page}")

    def check_lineage_limit(self, limit: int) -> None:
        if limit < 1:
            raise BadInputError(f"limit must be at least 1, got {limit}")
        if limit > self.max_lineage_nodes:
            raise LimitExceededError(
                f"limit is {limit}; one lineage answer holds at most "
                f"{self.max_lineage_nodes} nodes (page with a smaller depth or limit)"
            )


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    sizes: Mapping[str, int],
    limits: Limits,
) -> int | None:
    """The cost of the named operation (None when the document has no such operation).

    ``sizes`` are the integer variables: only they can change a page size.
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    return _Estimator(schema, document.definitions, sizes, limits).operation(operation)


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        definitions: Any,
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables
        self.limits = limits
        # A fragment's cost depends only on where it is spread (its parent type and
        # whether that is a page): computed once per place, so a fragment spread twice
        # by a fragment spread twice... costs time linear in the document.
        self.memo: dict[tuple[str, str, bool], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self.selections(operation.selection_set, root, paged=False, seen=frozenset())

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        paged: bool,
        seen: frozenset[str],
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, paged, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                total += self.selections(selection.selection_set, target, paged, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # validation reports cycles
                    continue
                key = (name, getattr(parent, "name", ""), paged)
                if key not in self.memo:
                    target = self.schema.get_type(fragment.type_condition.name.value) or parent
                    self.memo[key] = self.selections(
                        fragment.selection_set, target, paged, seen | {name}
                    )
                total += self.memo[key]
        return total

    def field(self, node: FieldNode, parent: Any, paged: bool, seen: frozenset[str]) -> int:
        name = node.name.value
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        # Introspection is priced like any other question: __schema { types { fields {
        # type { fields ... } } } } nests lists without end.
        definition = _META.get(name) if name.startswith("__") else parent.fields.get(name)
        if definition is None:
            return 0
        field_type: GraphQLOutputType = definition.type
        named = get_named_type(field_type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0  # scalars and enums are free: the object holding them was paid for
        if _is_value_object(named):
            self.page_size(node, definition.args)  # still refuse a page over the limit
            return 0
        size = self.page_size(node, definition.args)
        is_list = _is_list(field_type)
        inner = self.selections(node.selection_set, named, paged=size is not None, seen=seen)
        if size is not None:
            return 1 + size * inner
        if is_list and not paged:
            return DEFAULT_LIST_SIZE * (1 + inner)
        return 1 + inner

    def page_size(self, node: FieldNode, args: Mapping[str, Any]) -> int | None:
        for arg_name in PAGE_ARGS:
            if arg_name not in args:
                continue
            value = self.argument(node, arg_name)
            if value is None:
                default = args[arg_name].default_value
                value = default if isinstance(default, int) else None
            if value is None:
                continue
            if arg_name == "limit":
                self.limits.check_lineage_limit(value)
            else:
                self.limits.check_page(value, f"{node.name.value}(first:)")
            return value
        return None

    def argument(self, node: FieldNode, name: str) -> int | None:
        for arg in node.arguments or ():
            if arg.name.value != name:
                continue
            value = arg.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                raw = self.variables.get(value.name.value)
                return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        return None


_META = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}


def _is_value_object(named: Any) -> bool:
    if not isinstance(named, GraphQLObjectType):
        return False
    return all(is_leaf_type(get_named_type(f.type)) for f in named.fields.values())


def _is_list(field_type: GraphQLOutputType) -> bool:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return isinstance(inner, GraphQLList)
