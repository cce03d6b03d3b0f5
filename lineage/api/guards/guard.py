"""The guard that holds a GraphQL document to its ``Limits``, as one schema extension.

Size is checked before parsing, tokens while parsing (graphql-core stops at the
limit), depth and aliases in one linear pass over the document
(``lineage.api.guards.shape``; strawberry's limiters expand every fragment spread
anew, exponential in the document). Cost is ours: strawberry has none. It is
estimated from the document before anything runs (``lineage.api.guards.limits``),
so a document that would fan out into millions of store reads is refused with
LIMIT_EXCEEDED instead of timing out. Every limit hit is an error with that code,
never a crash.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from lineage.api.guards import shape
from lineage.api.guards.errors import Code
from lineage.api.guards.limits import Limits, estimate
from lineage.errors import LimitExceededError


def extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Per-request extension factories, in the order they must run."""
    return [lambda: Guard(limits)]


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

    def peek(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)


# Keyed by the query text (whose hash Python caches), never by the parsed document:
# a document hashes by walking its whole tree, on every request.
_PREPARED = _Lru(512)
_COSTS = _Lru(1024)

# Parsing and validating a new document runs here, off the event loop. graphql-core's
# validation is not linear in every document (500 copies of one field within the
# token limit take it over a second, comparing each pair), and while it runs the
# event loop must go on serving /healthz and everyone else. Two threads: a client
# that sends only expensive documents queues behind itself.
_ANALYSIS = ThreadPoolExecutor(2, thread_name_prefix="lineage-analysis")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A query text, parsed and checked: the document (None if it did not parse) and the
    reasons to refuse it (none if it may run)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


def _limit_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": Code.LIMIT_EXCEEDED.value})


def prepare(schema: GraphQLSchema, query: str, limits: Limits, rules: tuple[Any, ...]) -> Prepared:
    """Parse (at most ``max_tokens`` tokens), check the shape (fragments, depth, aliases)
    in linear time, then run the GraphQL validation rules."""
    try:
        document = parse(query, max_tokens=limits.max_tokens)
    except GraphQLError as exc:
        return Prepared(None, (exc,))
    except RecursionError:
        return Prepared(None, (_limit_error("the document nests too deeply to parse"),))
    try:
        refused = shape.check(document, limits.max_depth, limits.max_aliases)
        if refused is not None:
            return Prepared(document, (refused,))
        return Prepared(document, tuple(validate_document(schema, document, rules)))
    except RecursionError:
        return Prepared(document, (_limit_error("the document nests too deeply to check"),))


def _copy(error: GraphQLError) -> GraphQLError:
    """A fresh error to raise: raising the cached one would grow its traceback each time."""
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )


class Guard(SchemaExtension):
    """Refuses a document over the size limit before parsing; parses and validates each
    distinct query text once, off the event loop, with the token, depth and alias limits;
    and refuses an operation whose estimated cost (``lineage.api.guards.limits``) is over the limit.

    One extension instead of four (rules, parser cache, validation cache, cost): each
    extension costs hook calls on every request.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cost = 0
        self.prepared: Prepared | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        query = ctx.query
        if query is not None and ctx.graphql_document is None:
            if len(query) > self.limits.max_document_chars:
                raise LimitExceededError(
                    f"the document is {len(query)} characters; the limit is "
                    f"{self.limits.max_document_chars}"
                )
            schema = ctx.schema._schema
            rules = tuple(ctx.validation_rules)
            key = (schema, query, rules)
            prepared = _PREPARED.peek(key)
            if prepared is None:
                loop = asyncio.get_running_loop()
                prepared = await loop.run_in_executor(
                    _ANALYSIS, prepare, schema, query, self.limits, rules
                )
                if not prepared.errors:
                    # Only documents that may run are kept: a refused one's tree (up to
                    # the token limit, held by its errors' locations) would sit in the
                    # heap, and every full collection of the heap pauses the event loop.
                    _PREPARED.put(key, prepared)
            assert isinstance(prepared, Prepared)
            if prepared.document is None:
                raise _copy(prepared.errors[0])
            self.prepared = prepared
            ctx.graphql_document = prepared.document
        yield

    def on_validate(self) -> Iterator[None]:
        if self.prepared is not None:
            # Set, even when empty: strawberry then skips its own validation.
            self.execution_context.pre_execution_errors = list(self.prepared.errors)
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
