"""Relay-style paging over the store's keyset pages, with filters the store cannot apply.

A cursor holds the store key right after the last item shown (the store's page
token after that item), so paging resumes exactly there and stays stable while
writers append or records go. It never holds a position in the unscoped scan. A
scan cut short after ``max_scan`` records resumes after the last record read,
which may be hidden; that is why cursors are sealed (``lineage.api.guards.cursors``): a
principal learns nothing from its cursors and cannot use another's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from lineage.api.guards.cursors import Cursors
from lineage.errors import BadInputError
from lineage.store.port import Page

T = TypeVar("T")


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def _position(value: Any) -> tuple[str | None, int]:
    """A store token and how many records after it were read (0 when the store names the
    token after every item)."""
    if isinstance(value, list) and len(value) == 2:
        token, skip = value
        if (token is None or isinstance(token, str)) and type(skip) is int and skip >= 0:
            return token, skip
    raise BadInputError("after: not a cursor of this list handed to this token")


@dataclass(frozen=True, slots=True)
class Scanned(Generic[T]):
    items: list[tuple[T, str]]  # each item with its cursor
    has_next: bool
    end_cursor: str | None


async def scan(
    kind: str,
    fetch: Callable[[str | None, int], Awaitable[Page[T]]],
    keep: Callable[[Sequence[T]], Awaitable[list[bool]]],
    first: int,
    after: str | None,
    max_scan: int,
    cursors: Cursors,
) -> Scanned[T]:
    """Up to ``first`` records that ``keep`` accepts, after the ``after`` cursor.

    ``fetch(token, size)`` reads one store page; ``keep`` judges a whole page at
    once so its checks can be batched.
    """
    # An empty ``after`` starts at the beginning, as no cursor does.
    token, skip = _position(cursors.open(kind, after)) if after else (None, 0)

    def cursor_after(page: Page[T], index: int) -> str:
        """The cursor right after ``page.items[index]``: the store's key of that item when
        it names one, else the page's token and the records read from it."""
        if page.item_tokens:
            return cursors.seal(kind, [page.item_tokens[index], 0])
        return cursors.seal(kind, [token, index + 1])

    found: list[tuple[T, str]] = []
    scanned = 0
    # Start small when nothing is filtered, larger when most records may be dropped.
    size = min(max(first + 1, 20) + skip, 500)
    while True:
        page = await fetch(token, size)
        rows = page.items[skip:]
        verdicts = await keep(rows) if rows else []
        for offset, (item, ok) in enumerate(zip(rows, verdicts, strict=True)):
            index = skip + offset
            scanned += 1
            if ok:
                if len(found) == first:
                    # One more match exists: the page is full and there is a next one.
                    return Scanned(found, True, found[-1][1] if found else None)
                found.append((item, cursor_after(page, index)))
            if scanned >= max_scan:
                more = index + 1 < len(page.items) or page.next_page_token is not None
                return Scanned(found, more, cursor_after(page, index))
        if page.next_page_token is None:
            return Scanned(found, False, found[-1][1] if found else None)
        token, skip = page.next_page_token, 0
        size = 500
