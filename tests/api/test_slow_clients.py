"""Slow clients cannot hold the server: headers that never finish and bodies that trickle
are cut off at their deadlines, while other clients are served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.http.app import create_app
from lineage.api.http.transport import HeaderDeadlineProtocol
from lineage.cli.serve import connection_limits
from lineage.settings import Settings
from tests.api.live import WAIT_S, serving

DEADLINE_S = 1.0


class QuickHeaders(HeaderDeadlineProtocol):
    header_timeout_s = DEADLINE_S


@contextmanager
def served(settings: Settings, shared: Shared) -> Iterator[str]:
    api = ApiSettings(body_timeout_s=DEADLINE_S, header_timeout_s=DEADLINE_S)
    app: FastAPI = create_app(settings, api, shared=shared, audit=False)
    limits = {**connection_limits(api), "http": QuickHeaders}
    with serving(app, **limits) as url:
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a timeout here fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _served_meanwhile(url: str) -> None:
    answer = httpx.post(f"{url}/graphql", json={"query": "{ whoami { subject } }"}, timeout=5)
    assert answer.json()["data"] == {"whoami": {"subject": "local"}}


def test_headers_that_never_finish_are_cut_off(settings: Settings, shared: Shared) -> None:
    with served(settings, shared) as url:
        silent = _connect(url)
        trickling = _connect(url)
        started = time.monotonic()
        silent.sendall(b"POST /graphql HTTP/1.1\r\n")
        trickling.settimeout(DEADLINE_S / 4)
        closed = False
        for n in range(int(WAIT_S * 4)):  # a header line every quarter of the deadline
            try:
                trickling.sendall(f"X-{n}: 1\r\n".encode())
                closed = trickling.recv(1) == b""
            except TimeoutError:
                _served_meanwhile(url)
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed:
                break
        assert closed
        assert _read_until_closed(silent) == b""
        # Closed by the deadline, not by the test's own socket timeout.
        assert time.monotonic() - started < WAIT_S / 2
        _served_meanwhile(url)


def test_a_trickling_body_is_answered_408_and_closed(settings: Settings, shared: Shared) -> None:
    with served(settings, shared) as url:
        sock = _connect(url)
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        answer = b""
        sock.settimeout(DEADLINE_S / 4)
        for _ in range(int(WAIT_S * 4)):
            try:
                sock.sendall(b" ")
                answer += sock.recv(65536)
            except TimeoutError:
                _served_meanwhile(url)
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if b"\r\n\r\n" in answer:
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"did not arrive within 1 s" in answer
        sock.settimeout(WAIT_S)
        _read_until_closed(sock)
        _served_meanwhile(url)


def test_connections_past_the_bound_get_503(settings: Settings, shared: Shared) -> None:
    api = ApiSettings(max_connections=3, header_timeout_s=WAIT_S)
    app: FastAPI = create_app(settings, api, shared=shared, audit=False)
    with serving(app, **connection_limits(api)) as url:
        idle = [_connect(url) for _ in range(3)]  # open, silent: each holds a place
        try:
            statuses = []
            for _ in range(100):  # until the server has accepted all three
                statuses.append(
                    httpx.post(
                        f"{url}/graphql", json={"query": "{ whoami { subject } }"}, timeout=5
                    ).status_code
                )
                if statuses[-1] == 503:
                    break
                time.sleep(0.1)
            assert statuses[-1] == 503, statuses
        finally:
            for sock in idle:
                sock.close()
        for _ in range(int(WAIT_S * 10)):  # the places free as the server sees them close
            answer = httpx.post(
                f"{url}/graphql", json={"query": "{ whoami { subject } }"}, timeout=5
            )
            if answer.status_code == 200:
                break
            time.sleep(0.1)
        assert answer.json()["data"] == {"whoami": {"subject": "local"}}
