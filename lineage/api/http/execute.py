"""Running one GraphQL request: the same path for HTTP and for ``lineage query``.

The answer is always ``{"data": ..., "errors": [...]}`` with a code on every
error, whatever went wrong: a missing query, a mutation, a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from lineage.api.context import RequestContext, Shared
from lineage.api.guards.auth import Principal
from lineage.api.guards.errors import Code, error_body
from lineage.api.schema import LineageSchema

_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


@dataclass(frozen=True, slots=True)
class Outcome:
    body: dict[str, Any]
    codes: list[str]

    @property
    def ok(self) -> bool:
        return not self.codes


def operation_name(document: str | None, given: str | None) -> str | None:
    """The operation for the audit log: as named by the client, else by the document."""
    if given:
        return given
    if document:
        found = _OPERATION.match(document)
        if found:
            return found.group(1)
    return None


def _formatted(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = error.formatted  # type: ignore[assignment]
    out.setdefault("extensions", {}).setdefault("code", Code.BAD_REQUEST.value)
    return out


async def execute(
    schema: LineageSchema,
    shared: Shared,
    principal: Principal,
    query: Any,
    variables: Any = None,
    operation: Any = None,
) -> Outcome:
    if not isinstance(query, str) or not query.strip():
        return _refused("the request holds no GraphQL query")
    if variables is not None and not isinstance(variables, Mapping):
        return _refused("variables must be a JSON object")
    if operation is not None and not isinstance(operation, str):
        return _refused("operationName must be a string")
    where = _lone_surrogate(query=query, variables=variables, operationName=operation)
    if where is not None:
        return _refused(
            f"the {where} holds a lone surrogate (U+D800 to U+DFFF), which is not "
            "Unicode text; send the character it stands for"
        )
    context = RequestContext.build(shared, principal)
    try:
        result = await schema.execute(
            query,
            variable_values=dict(variables) if variables else None,
            context_value=context,
            operation_name=operation,
            allowed_operation_types=(OperationType.QUERY,),
        )
    except InvalidOperationTypeError:
        return _refused("this API is read-only: only queries are allowed")
    except (MissingQueryError, CannotGetOperationTypeError) as exc:
        return _refused(f"cannot tell which operation to run: {exc}")
    errors = [_formatted(e) for e in result.errors or ()]
    body: dict[str, Any] = {"data": result.data}
    if errors:
        body["errors"] = errors
    if result.extensions:
        body["extensions"] = result.extensions
    return Outcome(body, [e["extensions"]["code"] for e in errors])


def _lone_surrogate(**parts: Any) -> str | None:
    """The part of the request that holds a lone surrogate (JSON's ``"\\ud800"`` decodes to
    one), or None. Nothing downstream can encode such a string: refused up front."""
    for name, value in parts.items():
        pending = [value]
        while pending:  # a loop, not recursion: variables may nest as deep as JSON allows
            item = pending.pop()
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return name
            elif isinstance(item, Mapping):
                pending.extend(item.keys())
                pending.extend(item.values())
            elif isinstance(item, list | tuple):
                pending.extend(item)
    return None


def _refused(message: str) -> Outcome:
    return Outcome(error_body(Code.BAD_REQUEST, message), [Code.BAD_REQUEST.value])
