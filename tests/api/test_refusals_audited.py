"""What the connection layer refuses is audited like any request: a 503 past the bound on
connections, and a connection closed by the header deadline, each leave one line in the
audit log before the client hears of it, and so does what is not HTTP at all (a live
``lineage serve``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import wait_healthy
from tests.api.live import WAIT_S
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
LINEAGE = str(Path(sys.executable).with_name("lineage"))
QUERY = {"query": "{ whoami { subject } }"}


@contextmanager
def serving(tmp_path: Path, **api: str) -> Iterator[tuple[str, Path]]:
    """``lineage serve`` with ``LINEAGE_API__*`` settings; its URL and audit log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(tmp_path / "home")
    audit = tmp_path / "audit.jsonl"
    env["LINEAGE_API__AUDIT_LOG"] = str(audit)
    env.update({f"LINEAGE_API__{k.upper()}": v for k, v in api.items()})
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [LINEAGE, "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url, audit
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _lines(audit: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=WAIT_S)


def _wait_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_each_503_past_the_bound_leaves_its_line_first(tmp_path: Path) -> None:
    with serving(tmp_path, max_connections="3", header_timeout_s=str(WAIT_S)) as (url, audit):
        idle = [_connect(url) for _ in range(3)]  # open, silent: each holds a place
        try:
            refused = 0
            for _ in range(100):  # until the server has accepted all three
                answer = httpx.post(f"{url}/graphql", json=QUERY, timeout=5)
                if answer.status_code == 503:
                    refused += 1
                    # Written before the answer: in the file the moment the 503 is read.
                    lines = [line for line in _lines(audit) if line["errors"] == ["UNAVAILABLE"]]
                    assert len(lines) == refused, lines
                    if refused == 2:
                        break
                time.sleep(0.1)
            assert refused == 2
        finally:
            for sock in idle:
                sock.close()
    line = lines[-1]
    assert line["client"] == "127.0.0.1" and line["identity"] is None
    assert "over the bound of 3 connections" in line["connection"]["reason"]
    assert line["connection"]["bytes_received"] > 0


def test_a_connection_closed_by_the_header_deadline_leaves_one_line(tmp_path: Path) -> None:
    with serving(tmp_path, header_timeout_s="1", keep_alive_s="30") as (url, audit):
        answered = httpx.post(f"{url}/graphql", json=QUERY, timeout=5)  # its own line
        assert answered.status_code == 200
        partial = b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n"
        trickling = _connect(url)
        trickling.sendall(partial)
        silent = _connect(url)
        # A kept-alive connection, answered and then idle past the header deadline.
        kept = _connect(url)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")
        for sock in (trickling, silent, kept):
            _wait_closed(sock)  # a timeout here fails the test
        # The lines are in the file when the server closes the connections.
        lines = [line for line in _lines(audit) if "connection" in line]
    by_bytes = {line["connection"]["bytes_received"]: line for line in lines}
    assert len(lines) == 2 and set(by_bytes) == {len(partial), 0}, lines
    for line in lines:
        assert line["errors"] == ["BAD_REQUEST"] and line["client"] == "127.0.0.1"
        assert "did not arrive within 1 s" in line["connection"]["reason"]
        assert line["connection"]["peer"].startswith("127.0.0.1:")
        assert line["document"] is None and line["identity"] is None


def test_what_is_not_http_is_answered_400_after_its_line(tmp_path: Path) -> None:
    with serving(tmp_path) as (url, audit):
        garbage = b"\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n"  # e.g. TLS spoken to plain HTTP
        sock = _connect(url)
        sock.sendall(garbage)
        answer = _wait_closed(sock)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        lines = [line for line in _lines(audit) if "connection" in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["errors"] == ["BAD_REQUEST"] and line["client"] == "127.0.0.1"
    assert line["connection"]["reason"].startswith("a malformed HTTP request")
    assert line["connection"]["bytes_received"] == len(garbage)
