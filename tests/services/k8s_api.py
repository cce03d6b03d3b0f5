"""A loopback HTTP server answering the Kubernetes API paths the ``kubernetes`` client
calls, replaying the recorded JSON in tests/fixtures/k8s, and a kubeconfig for it.

No cluster can run here; this replays API responses, it does not mock our code.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "k8s"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class FakeApi:
    """Replays lists and watch streams. ``status`` forces an HTTP error (RBAC tests)."""

    pods: dict[str, Any] = field(default_factory=lambda: load("pods.json"))
    watch_lines: list[str] = field(default_factory=list)
    snapshots: dict[str, Any] = field(default_factory=lambda: load("volumesnapshots.json"))
    contents: dict[str, Any] = field(default_factory=lambda: load("volumesnapshotcontents.json"))
    status: int | None = None
    requests: list[str] = field(default_factory=list)

    def reply(self, path: str) -> tuple[int, list[bytes]]:
        self.requests.append(path)
        if self.status is not None:
            body = {
                "kind": "Status",
                "status": "Failure",
                "reason": "Forbidden",
                "code": self.status,
                "message": "pods is forbidden: User cannot list resource",
            }
            return self.status, [json.dumps(body).encode()]
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        segments = parts.path.strip("/").split("/")
        if segments[:2] == ["api", "v1"] and segments[-1] == "pods":
            namespace = segments[3] if len(segments) == 5 else None
            if [w.lower() for w in query.get("watch", [])] == ["true"]:
                return 200, self._watch(query)
            items = [
                p for p in self.pods["items"]
                if namespace is None or p["metadata"]["namespace"] == namespace
            ]  # fmt: skip
            assert query.get("labelSelector") == ["pipelines.kubeflow.org/v2_component=true"]
            return 200, [json.dumps({**self.pods, "items": items}).encode()]
        if segments[:3] == ["apis", "snapshot.storage.k8s.io", "v1"]:
            doc = self.contents if segments[-1] == "volumesnapshotcontents" else self.snapshots
            if len(segments) == 6:  # namespaced
                doc = {
                    **doc,
                    "items": [i for i in doc["items"] if i["metadata"]["namespace"] == segments[4]],
                }
            return 200, [json.dumps(doc).encode()]
        return 404, [b'{"kind":"Status","code":404}']

    def _watch(self, query: dict[str, list[str]]) -> list[bytes]:
        since = int(query.get("resourceVersion", ["0"])[0] or 0)
        out = []
        for line in self.watch_lines:
            event = json.loads(line)
            if int(event["object"]["metadata"]["resourceVersion"]) > since:
                out.append(line.encode() + b"\n")
        if not out:  # nothing new: hold the stream briefly, as an idle API server does
            time.sleep(min(float(query.get("timeoutSeconds", ["1"])[0]), 0.5))
        return out


@contextmanager
def serve(api: FakeApi, tmp_path: Path) -> Iterator[Path]:
    """Run the fake API; yields the path of a kubeconfig pointing at it."""

    class _H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, chunks = api.reply(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(chunk)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "replay",
                        "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"},
                    }
                ],
                "users": [{"name": "ingest", "user": {"token": "replay-token"}}],
                "contexts": [
                    {"name": "replay", "context": {"cluster": "replay", "user": "ingest"}}
                ],
                "current-context": "replay",
            }
        )
    )
    try:
        yield config
    finally:
        server.shutdown()
        server.server_close()
