"""One error root for the whole product.

Each subclass carries the process exit code the CLI uses and the code a
GraphQL client sees, so every face reports the same failure the same way.
"""

from __future__ import annotations


class LineageError(Exception):
    """Root of every expected failure. The message names the offending record."""

    exit_code: int = 1
    code: str = "BAD_REQUEST"


class ConfigError(LineageError):
    """Settings that cannot work: a bad URL, an unreadable LINEAGE_HOME."""

    exit_code = 2


class StoreError(LineageError):
    """The metadata store cannot be opened or refused a write."""

    exit_code = 3
    code = "INTERNAL"


class BadInputError(LineageError):
    """A source handed us a record we cannot accept (malformed spec, dangling event)."""

    exit_code = 4


class NotFoundError(LineageError):
    exit_code = 5
    code = "NOT_FOUND"


class LimitExceededError(LineageError):
    exit_code = 6
    code = "LIMIT_EXCEEDED"


class UnavailableError(LineageError):
    """A service (Neo4j, a registry, the KFP API) did not answer."""

    exit_code = 7
    code = "UNAVAILABLE"
