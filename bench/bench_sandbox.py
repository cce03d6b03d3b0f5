"""The sandbox's overhead per task against kfp.local's SubprocessRunner, same pipeline.

Run: .venv/bin/python bench/bench_sandbox.py [--runs 3]

The pipeline is tests/sandbox/pipelines.py:three_steps (three lightweight components, each
starting with kfp's ``pip install kfp==...`` check, then running its function). The image
is tools/build-test-image's (cached by its inputs), pushed with skopeo to a loopback
docker-registry. Three ways, alternated so machine load hits them alike:

- ``subprocess``: ``run_pipeline`` with kfp.local's SubprocessRunner (this Python);
- ``sandbox cold``: ``run_pipeline`` with the SandboxRunner and an empty image cache
  (pull every blob, verify, unpack with umoci, then run);
- ``sandbox warm``: the same with the cache already holding the image and its rootfs.

Per task = the run's wall time / 3. Results go to bench/results/sandbox.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.services import RegistryService  # noqa: E402

TASKS = 3


def build_image() -> tuple[Path, str]:
    out = subprocess.run(
        [str(REPO / "tools/build-test-image")], capture_output=True, text=True, check=True
    )
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return Path(doc["layout"]), str(doc["digest"])


def one_run(work: Path, sandbox_cache: Path | None, registry: str) -> float:
    from lineage.images.client import RegistryClient
    from lineage.ingest.kfp_local.load import compile_pipeline
    from lineage.ingest.kfp_local.run import run_pipeline
    from lineage.sandbox.runner import SandboxRunner

    compiled = compile_pipeline(REPO / "tests/sandbox/pipelines.py", "three_steps")
    root = Path(tempfile.mkdtemp(dir=work))
    log = io.StringIO()
    start = time.perf_counter()
    if sandbox_cache is None:
        run = run_pipeline(compiled, {"rows": 30}, root, log)
    else:
        client = RegistryClient(insecure=[registry])
        sandbox = SandboxRunner.open(sandbox_cache, client, timeout_s=600)
        run = run_pipeline(compiled, {"rows": 30}, root, log, None, sandbox)
        client.close()
    elapsed = time.perf_counter() - start
    assert run.state == "COMPLETE", log.getvalue()[-2000:]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    layout, digest = build_image()
    times: dict[str, list[float]] = {"subprocess": [], "sandbox cold": [], "sandbox warm": []}
    with RegistryService() as registry, tempfile.TemporaryDirectory() as tmp:
        registry.push(layout, "kfp-lineage/sandbox-test:latest")
        os.environ["SANDBOX_TEST_IMAGE"] = f"{registry.address}/kfp-lineage/sandbox-test@{digest}"
        work = Path(tmp)
        warm = work / "warm-cache"
        one_run(work, warm, registry.address)  # fills the warm cache
        for i in range(args.runs):
            times["subprocess"].append(one_run(work, None, registry.address))
            cold = work / f"cold-{i}"
            times["sandbox cold"].append(one_run(work, cold, registry.address))
            shutil.rmtree(cold)
            times["sandbox warm"].append(one_run(work, warm, registry.address))
    report(times, args.runs, digest)


def report(times: dict[str, list[float]], runs: int, digest: str) -> None:
    base = statistics.median(times["subprocess"]) / TASKS
    lines = [
        "# Sandbox overhead per task (bench/bench_sandbox.py)",
        "",
        f"`date -u`: {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())}; "
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"nproc {os.cpu_count()}; {runs} runs each, alternated; image {digest[:19]}...",
        "",
        "| runner | per task, median (s) | all runs (s, whole pipeline) | vs subprocess |",
        "| --- | --- | --- | --- |",
    ]
    for name, values in times.items():
        per_task = statistics.median(values) / TASKS
        runs_text = ", ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {name} | {per_task:.2f} | {runs_text} | {per_task / base:.2f}x |")
    text = "\n".join(lines) + "\n"
    out = REPO / "bench/results/sandbox.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
