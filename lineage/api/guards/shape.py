"""The shape of a GraphQL document: its fragments, depth and aliases, in one linear pass.

A fragment may be spread many times, and fragments spread fragments: a document
of 900 bytes (``fragment F1 on Query { ...F0 ...F0 }`` up to ``F22``) names
2^22 copies of ``F0``. Expanding spreads as they are met takes time exponential
in the document, so each fragment's height and alias count is computed once and
remembered. Unknown fragments and fragment cycles are refused here, before the
other checks (which may then rely on a finite, well-formed fragment graph).

Height follows strawberry's depth limiter: a field with a selection set counts
one level, fragments and inline fragments none, and introspection fields are
not counted (GraphiQL's introspection query nests deeper than any lineage
question; its size is bounded by the cost estimate instead).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from lineage.api.guards.errors import Code


@dataclass(frozen=True, slots=True)
class Shape:
    height: int  # the deepest chain of fields with selection sets, over all operations
    aliases: int  # aliased fields, counting each spread of a fragment


def _error(code: Code, message: str, *nodes: object) -> GraphQLError:
    return GraphQLError(message, nodes=list(nodes) or None, extensions={"code": code.value})  # type: ignore[arg-type]


def fragment_order(
    document: DocumentNode,
) -> tuple[dict[str, FragmentDefinitionNode], list[str]] | GraphQLError:
    """The fragments by name and an order in which each comes after those it spreads;
    an error for an unknown fragment, a duplicate name or a cycle."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            name = definition.name.value
            if name in fragments:
                return _error(
                    Code.BAD_REQUEST, f"There can be only one fragment named '{name}'.", definition
                )
            fragments[name] = definition
    spreads = {name: _spreads(f.selection_set) for name, f in fragments.items()}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for spread in _spreads(definition.selection_set):
                if spread.name.value not in fragments:
                    return _unknown(spread)
    # Iterative depth-first search: a chain of hundreds of fragments must not recurse.
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in fragments:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, index = stack[-1]
            children = spreads[name]
            if index == len(children):
                stack.pop()
                state[name] = 2
                order.append(name)
                continue
            stack[-1] = (name, index + 1)
            child = children[index]
            target = child.name.value
            if target not in fragments:
                return _unknown(child)
            if state.get(target) == 1:
                path = [n for n, _ in stack]
                via = path[path.index(target) + 1 :]
                return _error(
                    Code.BAD_REQUEST,
                    f"Cannot spread fragment '{target}' within itself"
                    + (f" via {', '.join(repr(v) for v in via)}." if via else "."),
                    child,
                )
            if not state.get(target):
                state[target] = 1
                stack.append((target, 0))
    return fragments, order


def _unknown(spread: FragmentSpreadNode) -> GraphQLError:
    return _error(Code.BAD_REQUEST, f"Unknown fragment '{spread.name.value}'.", spread)


def _spreads(selection_set: SelectionSetNode | None) -> list[FragmentSpreadNode]:
    """The fragment spreads anywhere under a selection set (not inside other fragments)."""
    found: list[FragmentSpreadNode] = []
    pending = [selection_set] if selection_set is not None else []
    while pending:
        current = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FragmentSpreadNode):
                found.append(selection)
            elif (
                isinstance(selection, FieldNode | InlineFragmentNode)
                and selection.selection_set is not None
            ):
                pending.append(selection.selection_set)
    return found


class _Measure:
    """Heights and alias counts of selection sets, each fragment measured once."""

    def __init__(self) -> None:
        self.fragments: dict[str, tuple[int, int]] = {}

    def selections(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        # Recursion follows the nesting of fields only (bounded by the token limit and
        # caught by the caller), never into fragments: those are looked up.
        if selection_set is None:
            return 0, 0
        height = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases += 1
                if selection.selection_set is None:
                    continue
                inner_height, inner_aliases = self.selections(selection.selection_set)
                aliases += inner_aliases
                if not selection.name.value.startswith("__"):
                    height = max(height, 1 + inner_height)
            elif isinstance(selection, InlineFragmentNode):
                inner_height, inner_aliases = self.selections(selection.selection_set)
                height, aliases = max(height, inner_height), aliases + inner_aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner_height, inner_aliases = self.fragments[selection.name.value]
                height, aliases = max(height, inner_height), aliases + inner_aliases
        return height, aliases


def measure(document: DocumentNode) -> Shape | GraphQLError:
    """The document's shape, or the error that makes it unmeasurable (fragments)."""
    found = fragment_order(document)
    if isinstance(found, GraphQLError):
        return found
    fragments, order = found
    m = _Measure()
    for name in order:  # each fragment after every fragment it spreads
        m.fragments[name] = m.selections(fragments[name].selection_set)
    height = aliases = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            h, a = m.selections(definition.selection_set)
            height, aliases = max(height, h), max(aliases, a)
    return Shape(height, aliases)


def check(
    document: DocumentNode, max_depth: int, max_aliases: int, operation: str | None = None
) -> GraphQLError | None:
    """The first reason to refuse the document's shape, or None."""
    shape = measure(document)
    if isinstance(shape, GraphQLError):
        return shape
    name = operation or "anonymous"
    if shape.height > max_depth:
        return _error(
            Code.LIMIT_EXCEEDED,
            f"'{name}' exceeds maximum operation depth of {max_depth} (it nests {shape.height})",
        )
    if shape.aliases > max_aliases:
        return _error(Code.LIMIT_EXCEEDED, f"{shape.aliases} aliases found. Allowed: {max_aliases}")
    return None
