"""Bounds on what one GraphQL document may ask: depth, aliases, tokens, cost, page size.

Depth, aliases and tokens use strawberry's own extensions. Cost is ours: strawberry
has none. It is estimated from the document before anything runs, so a document
that would fan out into millions of store reads is refused with LIMIT_EXCEEDED
instead of timing out. Every limit hit is an error with that code, never a crash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, parse
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

from lineage.api.cost import estimate
from lineage.errors import BadInputError, LimitExceededError


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
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


def extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Per-request extension factories, in the order they must run."""
    # The rules come from strawberry's depth and alias limiters, built once.
    rules = tuple(
        QueryDepthLimiter(max_depth=limits.max_depth).validation_rules
        + MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules
    )
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: Guard(limits, rules),
    ]


class _Lru:
    """A small LRU map, safe to share between the threads that run event loops."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock; an exception is not remembered
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


# Keyed by the query text (whose hash Python caches), never by the parsed document:
# a document hashes by walking its whole tree, on every request.
_PARSED = _Lru(512)
_VALIDATED = _Lru(512)
_COSTS = _Lru(1024)


class Guard(SchemaExtension):
    """Parses and validates each distinct query text once, adds the depth and alias rules,
    and refuses an operation whose estimated cost (``lineage.api.cost``) is over the limit.

    One extension instead of four (rules, parser cache, validation cache, cost): each
    extension costs hook calls on every request.
    """

    def __init__(self, limits: Limits, rules: tuple[Any, ...]) -> None:
        self.limits = limits
        self.rules = rules
        self.cost = 0

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = ctx.validation_rules + self.rules
        yield

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        query = ctx.query
        if query is not None and ctx.graphql_document is None:
            options = tuple(sorted(ctx.parse_options.items()))
            ctx.graphql_document = _PARSED.get(
                (query, options), lambda: parse(query, **ctx.parse_options)
            )
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document, query = ctx.graphql_document, ctx.query
        if document is not None and query is not None:
            schema = ctx.schema._schema
            rules = tuple(ctx.validation_rules)
            errors: list[GraphQLError] = _VALIDATED.get(
                (schema, query, rules), lambda: validate_document(schema, document, rules)
            )
            ctx.pre_execution_errors = errors
        yield

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document, query = ctx.graphql_document, ctx.query
        if document is not None and query is not None:
            # Only integer variables can change the estimate (page sizes).
            sizes = tuple(
                sorted(
                    (k, v)
                    for k, v in (ctx.variables or {}).items()
                    if isinstance(v, int) and not isinstance(v, bool)
                )
            )
            schema = ctx.schema._schema
            key = (schema, query, ctx.operation_name, sizes, self.limits)
            cost = _COSTS.get(
                key,
                lambda: estimate(schema, document, ctx.operation_name, dict(sizes), self.limits),
            )
            if cost is not None:
                self.cost = cost
                if cost > self.limits.max_cost:
                    raise LimitExceededError(
                        f"the query's estimated cost is {cost}; the limit is "
                        f"{self.limits.max_cost} (ask for smaller pages or fewer nested lists)"
                    )
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost}
