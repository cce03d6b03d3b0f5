"""Hostile corpus benchmark: /healthz and a small query keep answering while a live
``lineage serve`` is flooded with hostile GraphQL documents.

Run: .venv/bin/python bench/bench_hostile.py [--documents 3000] [--attackers 2]
     [--home DIR] [--out bench/results/hostile.md]

1. A store holding one recorded run (``lineage run`` of the training example), built
   once into --home and reused when present.
2. ``lineage serve`` on a free loopback port, with its default limits and timeouts.
3. The anchor: /healthz and a small query (``run(id:) { id state }``), probed every
   20 ms for --seconds on the idle server.
4. The load: --attackers clients send the hostile corpus of tests/api/hostile.py
   (--documents of them, every kind in turn: fragment bombs, alias floods, depth and
   introspection bombs, cycles, huge pages and strings, wrong types, batches, lone
   surrogates, deep JSON, empty ids) as fast as the server answers, while the same
   probe runs. Target: p99 of each probe under load <= 100 ms.
5. Checks: every hostile answer is a client error (never INTERNAL, never 5xx), and the
   audit log holds exactly one line per request.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.api.hostile import Hostile, stream  # noqa: E402

LINEAGE = str(Path(sys.executable).with_name("lineage"))
PROBE_EVERY_S = 0.02


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_store(home: Path) -> str:
    marker = home / "bench-run.json"
    if marker.exists():
        return str(json.loads(marker.read_text())["run"])
    home.mkdir(parents=True, exist_ok=True)
    ran = subprocess.run(
        [LINEAGE, "run", "lineage/examples/training.py:training_pipeline", "--json"],
        cwd=ROOT,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    run = "run:" + str(json.loads(ran.stdout)["run_id"])
    marker.write_text(json.dumps({"run": run}))
    return run


@contextmanager
def serve(home: Path) -> Iterator[str]:
    port = _free_port()
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [LINEAGE, "serve", "--port", str(port)],
        cwd=ROOT,
        env=_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"lineage serve exited; see {home / 'serve.log'}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("lineage serve did not answer /healthz within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
        log.close()


class Probe:
    """Asks /healthz and a small query in turn every PROBE_EVERY_S, recording latencies."""

    def __init__(self, url: str, run: str) -> None:
        self.url = url
        self.small = {"query": "query Small($id: ID!) { run(id: $id) { id state } }"}
        self.small["variables"] = {"id": run}  # type: ignore[assignment]
        self.health: list[float] = []
        self.query: list[float] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.wait(PROBE_EVERY_S):
                try:
                    started = time.perf_counter()
                    ok = client.get("/healthz").status_code == 200
                    self.health.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    body = client.post("/graphql", json=self.small).json()
                    self.query.append((time.perf_counter() - started) * 1000)
                    if not ok or "errors" in body:
                        self.failures += 1
                except httpx.HTTPError:
                    self.failures += 1

    def __enter__(self) -> Probe:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(30)


def _send(client: httpx.Client, hostile: Hostile) -> httpx.Response:
    if hostile.raw:
        return client.post(
            "/graphql", content=hostile.body, headers={"content-type": "application/json"}
        )
    return client.post("/graphql", json=hostile.body)


def attack(url: str, corpus: list[Hostile], attackers: int) -> tuple[Counter[str], list[str]]:
    codes: Counter[str] = Counter()
    wrong: list[str] = []
    lock = threading.Lock()
    parts = [corpus[i::attackers] for i in range(attackers)]

    def one(part: list[Hostile]) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for hostile in part:
                response = _send(client, hostile)
                got = [e["extensions"]["code"] for e in response.json().get("errors", [])]
                with lock:
                    codes.update(got)
                    if response.status_code >= 500 or got != [hostile.code]:
                        wrong.append(f"{hostile.name}: {response.status_code} {got}")

    threads = [threading.Thread(target=one, args=(p,)) for p in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes, wrong


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratio(loaded: list[float], idle: list[float]) -> float:
    return _pct(loaded, 0.99) / _pct(idle, 0.99)


def _row(name: str, values: list[float]) -> str:
    return (
        f"| {name} | {len(values)} | {statistics.median(values):.1f} | {_pct(values, 0.95):.1f} "
        f"| {_pct(values, 0.99):.1f} | {max(values):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--attackers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="the idle anchor's length")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    run = build_store(home)
    corpus = list(stream(args.documents))
    log = home / "audit.jsonl"
    with serve(home) as url:
        before = len(log.read_text().splitlines()) if log.exists() else 0
        with Probe(url, run) as idle:
            time.sleep(args.seconds)
        started = time.perf_counter()
        with Probe(url, run) as loaded:
            codes, wrong = attack(url, corpus, args.attackers)
        elapsed = time.perf_counter() - started
        lines = log.read_text().splitlines()[before:]
    graphql_probes = len(idle.query) + len(loaded.query)
    audited_ok = len(lines) == len(corpus) + graphql_probes
    internal = sum(1 for x in lines if "INTERNAL" in json.loads(x)["errors"])
    load = os.getloadavg()
    report = [
        f"## Hostile corpus against a live server ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1 / 5 / 15 min) when the run ended. `lineage serve`, one worker, "
        f"default limits; {len(corpus)} hostile documents from {args.attackers} clients in "
        f"{elapsed:.1f} s ({len(corpus) / elapsed:.0f}/s), probes every "
        f"{PROBE_EVERY_S * 1000:.0f} ms.",
        "",
        "| probe (ms) | n | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- | --- |",
        _row("/healthz, idle (anchor)", idle.health),
        _row("/healthz, under the corpus", loaded.health),
        _row("small query, idle (anchor)", idle.query),
        _row("small query, under the corpus", loaded.query),
        "",
        f"p99 under load / idle: /healthz {ratio(loaded.health, idle.health):.1f}x, "
        f"small query {ratio(loaded.query, idle.query):.1f}x. "
        f"Probe failures: {idle.failures + loaded.failures}.",
        "",
        f"Answers: {dict(sorted(codes.items()))}; wrong or 5xx: {len(wrong)}; INTERNAL in the "
        f"audit log: {internal}; audit lines {len(lines)} for {len(corpus) + graphql_probes} "
        f"GraphQL requests ({'one each' if audited_ok else 'MISMATCH'}).",
    ]
    if wrong:
        report += ["", "Wrong answers (first 20):", *[f"- {w}" for w in wrong[:20]]]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if wrong or internal or not audited_ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
