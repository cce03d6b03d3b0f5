"""The audit log: one JSON line per request (served, or run by ``lineage query``), with who
asked, what, and how it ended.

A line holds the time, the identity (the principal; for a refused token, its
SHA-256 and never the token), the operation name, the document's text and its
SHA-256, the variables with the values of secret-sounding names redacted, the
error codes, the client address and the time taken. Whatever a client sends (lone
surrogates, JSON nested a thousand deep), the line is written: nothing here raises.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from lineage.api.config import ApiSettings
from lineage.api.guards.auth import Principal
from lineage.errors import ConfigError
from lineage.settings import Settings

log = logging.getLogger("lineage.api")

# Variables and documents are logged as sent, but a hostile client must not grow the
# log without bound (the largest document served is 20,000 characters).
MAX_VARIABLES_CHARS = 4096
MAX_DOCUMENT_CHARS = 20_000
# Variables whose name contains one of these (any case, at any depth) are logged as
# REDACTED: an auditor reads what was asked without the log holding credentials.
DEFAULT_REDACT = ("token", "password", "passwd", "secret", "credential", "apikey", "api_key")
REDACTED = "[redacted]"
# How long a request waits for its line to reach the file before it answers anyway
# (and logs that it could not); a stuck disk must not hang every client forever.
WRITE_WAIT_S = 10.0

_Item = str | threading.Event | Callable[[], None] | None


def audit_path(settings: Settings, api: ApiSettings) -> Path:
    """Where the server and ``lineage query`` append: the setting, else in LINEAGE_HOME."""
    return api.audit_log or settings.home.expanduser() / "audit.jsonl"


class AuditLog:
    """Appends from a writer thread: a request hands its line over and never waits on disk.

    ``open`` (called at start-up) creates the file, so an unwritable log stops the
    server before it serves anything; ``flush`` waits until every line handed over
    so far is written.
    """

    def __init__(self, path: Path, redact: Iterable[str] = DEFAULT_REDACT) -> None:
        self.path = path
        self.redact = tuple(r.lower() for r in redact)
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle = self.path.open("a", encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot open the audit log {self.path}: {exc.strerror}") from exc
            self._thread = threading.Thread(
                target=self._drain, args=(handle,), name="lineage-audit", daemon=True
            )
            self._thread.start()

    def _drain(self, handle: IO[str]) -> None:
        with handle:
            while True:
                item = self._queue.get()
                lines: list[str] = []
                waiters: list[threading.Event | Callable[[], None]] = []
                stop = False
                while True:  # take everything queued, then write it in one go
                    if item is None:
                        stop = True
                    elif isinstance(item, str):
                        lines.append(item)
                    else:
                        waiters.append(item)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if lines:
                    handle.write("".join(f"{line}\n" for line in lines))
                    handle.flush()
                for waiter in waiters:
                    if isinstance(waiter, threading.Event):
                        waiter.set()
                    else:
                        waiter()
                if stop:
                    return

    def write(
        self,
        principal: Principal | Mapping[str, Any] | None,
        operation: str | None,
        variables: Mapping[str, Any] | None,
        document: str | None,
        codes: Iterable[str],
        client: str | None,
        elapsed_ms: float,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Hands the line to the writer; ``principal`` may be an identity already made
        (a refused token's); ``extra`` adds fields (a refused connection's)."""
        if self._thread is None:
            self.open()
        self._queue.put(
            entry(
                principal,
                operation,
                variables,
                document,
                codes,
                client,
                elapsed_ms,
                self.redact,
                extra=extra,
            )
        )

    async def record(
        self,
        principal: Principal | Mapping[str, Any] | None,
        operation: str | None,
        variables: Mapping[str, Any] | None,
        document: str | None,
        codes: Iterable[str],
        client: str | None,
        elapsed_ms: float,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Writes the line and returns once it is in the file: the server answers after."""
        self.write(principal, operation, variables, document, codes, client, elapsed_ms, extra)
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()

        def done() -> None:
            loop.call_soon_threadsafe(_resolve, written)

        self._queue.put(done)
        try:
            await asyncio.wait_for(asyncio.shield(written), WRITE_WAIT_S)
        except TimeoutError:
            log.error("the audit log %s took over %ss to write a line", self.path, WRITE_WAIT_S)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was written so far is on disk; False if the writer is stuck."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(10.0)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def redacted(value: Any, redact: tuple[str, ...]) -> Any:
    """``value`` with the value under every key that contains a ``redact`` word replaced."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED
            if isinstance(k, str) and any(word in k.lower() for word in redact)
            else redacted(v, redact)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redacted(v, redact) for v in value]
    return value


def _variables(variables: Mapping[str, Any] | None, redact: tuple[str, ...]) -> Any:
    if not variables:
        return {}
    try:
        logged: Any = redacted(variables, redact)
        # ASCII: a lone surrogate is written as its escape, which any reader can decode.
        text = json.dumps(logged, sort_keys=True, default=str)
    except (RecursionError, ValueError):
        return {"unreadable": "nested too deeply to log"}
    if len(text) > MAX_VARIABLES_CHARS:
        return {"truncated": text[:MAX_VARIABLES_CHARS]}
    return logged


def entry(
    principal: Principal | Mapping[str, Any] | None,
    operation: str | None,
    variables: Mapping[str, Any] | None,
    document: str | None,
    codes: Iterable[str],
    client: str | None,
    elapsed_ms: float,
    redact: tuple[str, ...] = DEFAULT_REDACT,
    *,
    extra: Mapping[str, Any] | None = None,
) -> str:
    identity = principal.as_audit() if isinstance(principal, Principal) else principal
    raw = document.encode("utf-8", "surrogatepass") if document else None
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "identity": dict(identity) if identity is not None else None,
        "operation": operation,
        "variables": _variables(variables, redact),
        "document": document[:MAX_DOCUMENT_CHARS] if document else None,
        "document_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
        "errors": sorted(set(codes)),
        "client": client,
        "ms": round(elapsed_ms, 2),
    }
    if document and len(document) > MAX_DOCUMENT_CHARS:
        line["document_truncated"] = True
    if extra:
        line.update(extra)
    return json.dumps(line, sort_keys=True, default=str)
