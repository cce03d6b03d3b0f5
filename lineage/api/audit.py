"""The audit log: one JSON line per request (served, or run by ``lineage query``), with who
asked, what, and how it ended."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from lineage.api.auth import Principal
from lineage.api.config import ApiSettings
from lineage.errors import ConfigError
from lineage.settings import Settings

# Variables are logged as sent, but a hostile client must not grow the log without bound.
MAX_VARIABLES_CHARS = 4096


def audit_path(settings: Settings, api: ApiSettings) -> Path:
    """Where the server and ``lineage query`` append: the setting, else in LINEAGE_HOME."""
    return api.audit_log or settings.home.expanduser() / "audit.jsonl"


class AuditLog:
    """Appends from a writer thread: a request hands its line over and never waits on disk.

    ``open`` (called at start-up) creates the file, so an unwritable log stops the
    server before it serves anything; ``flush`` waits until every line handed over
    so far is written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[str | threading.Event | None] = queue.SimpleQueue()
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
                waiters: list[threading.Event] = []
                stop = False
                while True:  # take everything queued, then write it in one go
                    if item is None:
                        stop = True
                    elif isinstance(item, threading.Event):
                        waiters.append(item)
                    else:
                        lines.append(item)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if lines:
                    handle.write("".join(f"{line}\n" for line in lines))
                    handle.flush()
                for waiter in waiters:
                    waiter.set()
                if stop:
                    return

    def write(
        self,
        principal: Principal | None,
        operation: str | None,
        variables: Mapping[str, Any] | None,
        document: str | None,
        codes: Iterable[str],
        client: str | None,
        elapsed_ms: float,
    ) -> None:
        if self._thread is None:
            self.open()
        self._queue.put(entry(principal, operation, variables, document, codes, client, elapsed_ms))

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


def entry(
    principal: Principal | None,
    operation: str | None,
    variables: Mapping[str, Any] | None,
    document: str | None,
    codes: Iterable[str],
    client: str | None,
    elapsed_ms: float,
) -> str:
    logged: Any = dict(variables) if variables else {}
    text = json.dumps(logged, sort_keys=True, default=str)
    if len(text) > MAX_VARIABLES_CHARS:
        logged = {"truncated": text[:MAX_VARIABLES_CHARS]}
    return json.dumps(
        {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "identity": principal.as_audit() if principal else None,
            "operation": operation,
            "variables": logged,
            "document_sha256": (
                hashlib.sha256(document.encode()).hexdigest() if document else None
            ),
            "errors": sorted(set(codes)),
            "client": client,
            "ms": round(elapsed_ms, 2),
        },
        sort_keys=True,
        default=str,
    )
