"""A local HTTP server that replays recorded KFP v2beta1 responses (tests/fixtures/kfp_api).

No KFP cluster can run here, so the API tests talk HTTP to this server on 127.0.0.1 (a
free port, a thread). It answers each path, and each ``page_token`` of a path, with a
recorded JSON file; tests can queue faults (a status and a body served before the
recording) and swap a recording for another, and read back every request made.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kfp_api"
API = "/apis/v2beta1"

# path -> file, or path -> {page_token: file}
Routes = Mapping[str, str | Mapping[str, str]]

MLMD_ERA_PIPELINE = "0b6c3f51-pipe-4e7a-9c11-000000000001"
MLMD_ERA: Routes = {
    f"{API}/experiments": "experiments.json",
    f"{API}/recurringruns": "recurring_runs.json",
    f"{API}/pipelines": "pipelines.json",
    f"{API}/pipelines/{MLMD_ERA_PIPELINE}/versions": {
        "": "pipeline_versions.page1.json",
        "pv-page-2": "pipeline_versions.page2.json",
    },
    f"{API}/runs": {"": "runs.page1.json", "runs-2": "runs.page2.json"},
}
NATIVE: Routes = {
    f"{API}/experiments": "experiments.json",
    f"{API}/recurringruns": "recurring_runs.json",
    f"{API}/pipelines": "pipelines.json",
    f"{API}/pipelines/1c1c1c1c-pipe-4000-8000-00000000000a/versions": "pipeline_versions.json",
    f"{API}/runs": "runs.json",
}


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class ReplayServer:
    directory: Path
    routes: dict[str, Any]
    token: str | None = None  # when set, a request without this bearer token gets 401
    requests: list[Request] = field(default_factory=list)
    faults: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @classmethod
    def of(cls, variant: str, routes: Routes, token: str | None = None) -> ReplayServer:
        return cls(FIXTURES / variant, {k: v for k, v in routes.items()}, token)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def fail(self, path: str, status: int, body: bytes = b"", times: int = 1) -> None:
        """Answer the next ``times`` requests for ``path`` with this status and body."""
        self.faults.setdefault(f"{API}/{path}", []).extend([(status, body)] * times)

    def serve(self, path: str, recording: str | Mapping[str, str]) -> None:
        self.routes[f"{API}/{path}"] = recording

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == f"{API}/{path}"]

    def start(self) -> ReplayServer:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: pytest shows failures
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                replay.requests.append(Request(parts.path, query, dict(self.headers.items())))
                if replay.token and self.headers.get("Authorization") != f"Bearer {replay.token}":
                    self._send(401, b'{"error":"unauthenticated","code":16}')
                    return
                queued = replay.faults.get(parts.path)
                if queued:
                    self._send(*queued.pop(0))
                    return
                route = replay.routes.get(parts.path)
                if isinstance(route, Mapping):
                    route = route.get(query.get("page_token", ""))
                if route is None:
                    body = {"error": f"no recording for {parts.path}", "code": 5}
                    self._send(404, json.dumps(body).encode())
                    return
                self._send(200, (replay.directory / route).read_bytes())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
