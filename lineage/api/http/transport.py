"""The HTTP connection: a deadline for the request line and headers, the bound on
connections, and an audit line for every request or connection either one refuses.

uvicorn bounds idle kept-alive connections (``timeout_keep_alive``) and the size of an
unfinished header block, but not the time a client takes to send its headers: a client
that opens a connection and sends a byte now and then holds it for ever. This protocol
closes a connection whose headers are not complete within ``header_timeout_s`` of it
opening, or of the previous answer on it. (The body's deadline is the app's:
``lineage.api.http.app`` answers 408 when it does not arrive in time.)

uvicorn's own ``limit_concurrency`` answers 503 without the app seeing the request, so
the refusal would leave no audit line. The protocol applies the same bound itself and
answers the 503 after writing its line. A connection closed by the header deadline has
no request to audit: it leaves one line for the connection, with its peer, the bytes it
sent and why it was closed, written before it is closed; so does what is not HTTP at
all, before uvicorn's 400. Both go to the app's audit log
(which the app's lifespan hands over as ``AUDIT_STATE``); an app that audits nothing
gets no line here either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lineage.api.guards.audit import AuditLog
from lineage.api.guards.errors import Code

# The key of the app's audit log in the lifespan state that uvicorn hands each connection.
AUDIT_STATE = "lineage.audit"


@cache
def _configured_timeout() -> float:
    from lineage.api.config import ApiSettings

    return ApiSettings().header_timeout_s


class HeaderDeadlineProtocol(HttpToolsProtocol):
    # None: LINEAGE_API__HEADER_TIMEOUT_S, read once per process (each worker reads its own).
    header_timeout_s: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The bound is ours to apply (``on_headers_complete``): uvicorn's would refuse unaudited.
        self.capacity, self.limit_concurrency = self.limit_concurrency, None
        self._header_deadline: asyncio.TimerHandle | None = None
        self._closing: asyncio.Future[None] | None = None  # kept: a task nothing holds may vanish
        self._received = 0  # bytes since the connection opened or the previous answer
        self._answered = False
        self._since = time.perf_counter()

    def _audit(self) -> AuditLog | None:
        audit = self.app_state.get(AUDIT_STATE)
        return audit if isinstance(audit, AuditLog) else None

    def _peer(self) -> str | None:
        return self.client[0] if self.client else None

    def _address(self) -> str | None:
        return f"{self.client[0]}:{self.client[1]}" if self.client else None

    def _arm(self) -> None:
        self._disarm()
        seconds = self.header_timeout_s or _configured_timeout()
        self._header_deadline = self.loop.call_later(seconds, self._headers_too_slow, seconds)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self, seconds: float) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        # An idle kept-alive connection that sent nothing since its last answer asked
        # nothing: its requests have their lines already.
        if self._answered and not self._received:
            self.transport.close()
            return
        reason = f"the request line and headers did not arrive within {seconds:g} s"
        self._audit_then(reason, self.transport.close)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's 400 for what is not HTTP, after the connection's audit line."""
        send = super().send_400_response
        self._audit_then(f"a malformed HTTP request: {msg}", lambda: send(msg))

    def _audit_then(self, reason: str, then: Callable[[], None]) -> None:
        """A line for this connection (``BAD_REQUEST``), then ``then`` (the answer or the close)."""
        audit = self._audit()
        if audit is None:
            then()
            return
        if self._closing is not None:
            return  # the connection's line is being written: one line, one ending
        self.transport.pause_reading()  # ending: nothing more is read while the line is written
        facts = self._facts(reason)
        elapsed_ms = (time.perf_counter() - self._since) * 1000
        self._closing = asyncio.ensure_future(self._record_then(audit, facts, elapsed_ms, then))

    def _facts(self, reason: str) -> dict[str, Any]:
        return {"reason": reason, "bytes_received": self._received, "peer": self._address()}

    async def _record_then(
        self,
        audit: AuditLog,
        facts: dict[str, Any],
        elapsed_ms: float,
        then: Callable[[], None],
    ) -> None:
        try:
            await audit.record(
                None,
                None,
                None,
                None,
                [Code.BAD_REQUEST.value],
                self._peer(),
                elapsed_ms,
                {"connection": facts},
            )
        finally:
            if not self.transport.is_closing():
                then()

    def _over_capacity(self) -> bool:
        limit = self.capacity
        return limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit)

    async def _refuse(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """uvicorn's 503, after the request's audit line."""
        audit = self._audit()
        if audit is not None:
            facts = self._facts(f"over the bound of {self.capacity} connections at once")
            await audit.record(
                None,
                None,
                None,
                None,
                [Code.UNAVAILABLE.value],
                self._peer(),
                (time.perf_counter() - self._since) * 1000,
                {"connection": facts},
            )
        await service_unavailable(scope, receive, send)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        if not self._over_capacity():
            super().on_headers_complete()
            return
        app, self.app = self.app, self._refuse  # this request alone
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._answered = True
        self._received = 0
        self._since = time.perf_counter()
        cycle = self.cycle
        # A pipelined request already sent its headers and is now running: no deadline.
        if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
            self._arm()
