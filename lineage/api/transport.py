"""The HTTP connection: a deadline for the request line and headers.

uvicorn bounds idle kept-alive connections (``timeout_keep_alive``), concurrent
connections (``limit_concurrency``) and the size of an unfinished header block,
but not the time a client takes to send its headers: a client that opens a
connection and sends a byte now and then holds it for ever. This protocol closes
a connection whose headers are not complete within ``header_timeout_s`` of it
opening, or of the previous answer on it. (The body's deadline is the app's:
``lineage.api.http.app`` answers 408 when it does not arrive in time.)
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@cache
def _configured_timeout() -> float:
    from lineage.api.config import ApiSettings

    return ApiSettings().header_timeout_s


class HeaderDeadlineProtocol(HttpToolsProtocol):
    # None: LINEAGE_API__HEADER_TIMEOUT_S, read once per process (each worker reads its own).
    header_timeout_s: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        seconds = self.header_timeout_s or _configured_timeout()
        self._header_deadline = self.loop.call_later(seconds, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        # A pipelined request already sent its headers and is now running: no deadline.
        if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
            self._arm()
