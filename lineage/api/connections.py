"""Relay-style paging over the store's keyset pages, with filters the store cannot apply.

A cursor names a store page token and how many records of that page were
consumed, so paging resumes exactly after any item, and stays stable while
writers append. Filtering scans at most ``max_scan`` records per request; a scan
cut short still returns a cursor to continue from, with ``hasNextPage`` true.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from lineage.errors import BadInputError
from lineage.store.port import Page

T = TypeVar("T")


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def encode_cursor(kind: str, token: str | None, skip: int) -> str:
    raw = json.dumps([kind, token, skip], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> tuple[str | None, int]:
    if not cursor:
        return None, 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        got_kind, token, skip = value
        if got_kind != kind or not isinstance(skip, int) or skip < 0:
            raise ValueError(kind)
        if token is not None and not isinstance(token, str):
            raise ValueError(token)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadInputError(f"after: {cursor!r} is not a cursor of this list") from exc
    return token, skip


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
) -> Scanned[T]:
    """Up to ``first`` records that ``keep`` accepts, after the ``after`` cursor.

    ``fetch(token, size)`` reads one store page; ``keep`` judges a whole page at
    once so its checks can be batched.
    """
    token, skip = decode_cursor(kind, after)
    found: list[tuple[T, str]] = []
    scanned = 0
    # Start small when nothing is filtered, larger when most records may be dropped.
    size = min(max(first + 1, 20) + skip, 500)
    while True:
        page = await fetch(token, size)
        rows = page.items[skip:]
        verdicts = await keep(rows) if rows else []
        for offset, (item, ok) in enumerate(zip(rows, verdicts, strict=True)):
            position = skip + offset + 1
            scanned += 1
            if ok:
                if len(found) == first:
                    # One more match exists: the page is full and there is a next one.
                    return Scanned(found, True, found[-1][1] if found else None)
                found.append((item, encode_cursor(kind, token, position)))
            if scanned >= max_scan:
                more = position < len(page.items) or page.next_page_token is not None
                return Scanned(found, more, encode_cursor(kind, token, position))
        if page.next_page_token is None:
            return Scanned(found, False, found[-1][1] if found else None)
        token, skip = page.next_page_token, 0
        size = 500
