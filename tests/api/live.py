"""An app served by a real uvicorn in a thread, on a free loopback port, for the tests that
need real sockets (the event loop, timeouts, slow clients)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.services import free_port

WAIT_S = 60.0  # how long a test waits for an event before it fails; never a measurement


@contextmanager
def serving(app: FastAPI, **config: Any) -> Iterator[str]:
    """The app's base URL while it is served; ``config`` goes to ``uvicorn.Config``."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(int(WAIT_S * 20)):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "uvicorn did not start"
        yield url
    finally:
        server.should_exit = True
        thread.join(WAIT_S)
