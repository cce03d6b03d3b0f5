"""Error codes: every GraphQL error a client sees carries ``extensions.code``.

Client mistakes get one of NOT_FOUND, BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN,
LIMIT_EXCEEDED. A fault of ours (the store refused, Neo4j is down) gets INTERNAL or
UNAVAILABLE, with the detail in the server log rather than in the answer.

FORBIDDEN answers a request that names what the token does not reach (a namespace,
or no namespace at all). A node of another namespace asked for by id is NOT_FOUND,
word for word as an unknown id, so a token cannot learn which ids exist elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from graphql import GraphQLError

from lineage.errors import LineageError

log = logging.getLogger("lineage.api")


class Code(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"


CLIENT_CODES = frozenset(
    {Code.NOT_FOUND, Code.BAD_REQUEST, Code.UNAUTHENTICATED, Code.FORBIDDEN, Code.LIMIT_EXCEEDED}
)


class UnauthenticatedError(LineageError):
    """No credentials, or credentials we cannot verify (wrong, expired, badly signed)."""

    exit_code = 8
    code = Code.UNAUTHENTICATED.value


class ForbiddenError(LineageError):
    """Verified credentials that do not reach what the request names (another namespace).

    ``identity`` is what the audit log records of the refused credentials: who they
    name and the token's hash, never the token."""

    exit_code = 9
    code = Code.FORBIDDEN.value

    def __init__(self, message: str, identity: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.identity = dict(identity) if identity is not None else None


# The limits strawberry ships report plain validation errors; their messages are
# the only mark they leave, so they are matched here (a test pins each one).
_LIMIT_MESSAGES = (
    re.compile(r"exceeds maximum operation depth of \d+"),
    re.compile(r"^\d+ aliases found\. Allowed: \d+"),
    re.compile(r"Document contains more than \d+ tokens"),
)


def code_of(error: GraphQLError) -> Code:
    original = error.original_error
    if isinstance(original, LineageError):
        try:
            return Code(original.code)
        except ValueError:
            return Code.INTERNAL
    if original is not None and not isinstance(original, GraphQLError):
        return Code.INTERNAL  # a bug or an unexpected failure: never the client's fault
    if any(p.search(error.message) for p in _LIMIT_MESSAGES):
        return Code.LIMIT_EXCEEDED
    return Code.BAD_REQUEST  # syntax, unknown field, bad variable: the document's fault


def tag_errors(errors: Sequence[GraphQLError]) -> None:
    """Give each error its code, in place, and log the ones that are our fault."""
    for error in errors:
        current = dict(error.extensions or {})
        if "code" not in current:
            current["code"] = code_of(error).value
            error.extensions = current
        if current["code"] in (Code.INTERNAL, Code.UNAVAILABLE):
            log.error("%s", error.message, exc_info=error.original_error)
            if not isinstance(error.original_error, LineageError):
                # Unexpected exceptions may carry internals (paths, SQL); keep them in the log.
                error.message = "internal error; see the server log"


def error_body(code: Code, message: str) -> dict[str, Any]:
    """A GraphQL response for a request refused before execution (auth, body size, JSON)."""
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}


HTTP_STATUS = {
    Code.UNAUTHENTICATED: 401,
    Code.FORBIDDEN: 403,
    Code.LIMIT_EXCEEDED: 413,
    Code.BAD_REQUEST: 400,
}
