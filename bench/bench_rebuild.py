"""The overhead of ``lineage rebuild run`` over running the same pipeline with ``lineage run``.

Run: nice -n 10 .venv/bin/python bench/bench_rebuild.py [--runs 5] [--data-mib 16]

Two environments on one machine, each with its own docker-registry, store and pipeline
root (as the tests set them up). The pipeline is ``tests/rebuild/rerun_pipelines.py``'s
``steady`` (an importer and three container tasks), in an image pushed into A's
registry by digest, reading a CSV of ``--data-mib`` MiB. It runs once with ``lineage
run`` in A and is planned. Then, alternating, each run times:

- direct: ``lineage run`` of the same pipeline and arguments into B's pipeline root;
- rebuild: ``lineage rebuild run PLAN --env b`` (check, migrate, rewrite, run, record,
  compare). The first rebuild migrates the image and the input (timed apart, as
  "first"); every later one finds them in B and checks every digest again.

Each rebuild also reports the seconds of its phases (``extra.seconds``), printed as
medians: what the rebuild adds to the run itself, free of the noise between processes.

Both are fresh CLI processes against the same SQLite store, so imports and start-up
count the same for both. The target is: rebuild <= 1.10x direct, plus the migration.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.services import (  # noqa: E402 - the registry and image builders of the tests
    RegistryService,
    build_oci_layout,
    layout_digest,
)

LINEAGE = Path(sys.executable).parent / "lineage"
PIPELINE = "tests/rebuild/rerun_pipelines.py:steady"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({out.returncode}): {out.stderr[-2000:]}")
    return elapsed, out


def environment(base: Path, a: RegistryService, b: RegistryService, image: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env.update(
        {
            "LINEAGE_HOME": str(base / "home"),
            "LINEAGE_INSECURE_REGISTRIES": f"{a.address},{b.address}",
            "REBUILD_TEST_IMAGE": image,
        }
    )
    for name, registry in (("A", a), ("B", b)):
        env[f"LINEAGE_ENVIRONMENTS__{name}__REGISTRY"] = registry.address
        env[f"LINEAGE_ENVIRONMENTS__{name}__STORE"] = str(base / f"store-{name.lower()}")
        env[f"LINEAGE_ENVIRONMENTS__{name}__PIPELINE_ROOT"] = str(base / f"root-{name.lower()}")
    return env


def prepare(base: Path, a: RegistryService, b: RegistryService, data_mib: int) -> dict[str, str]:
    """Push the image into A, write the input, and plan a run of it in A."""
    layout = build_oci_layout(base / "image", {"app/blob": os.urandom(8 << 20)})
    a.push(layout, "library/python:3.11-slim")
    env = environment(base, a, b, f"{a.address}/library/python@{layout_digest(layout)}")
    raw = base / "raw.csv"
    line = b"12345,67890\n"
    raw.write_bytes(line * ((data_mib << 20) // len(line)))
    _, first = timed([*run_argv(raw), "--pipeline-root", str(base / "root-a")], env)
    fit = next(t for t in json.loads(first.stdout)["tasks"] if t["name"] == "fit")
    model = fit["outputs"]["model"]["id"]
    plan = base / "plan.json"
    timed([str(LINEAGE), "rebuild", "plan", model, "--allow-gaps", "-o", str(plan)], env)
    return env


def run_argv(raw: Path) -> list[str]:
    return [str(LINEAGE), "run", PIPELINE, "--arg", f"data_uri={raw}", "--json"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-mib", type=int, default=16)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp,
        RegistryService() as a,
        RegistryService() as b,
    ):
        base = Path(tmp)
        env = prepare(base, a, b, args.data_mib)
        rebuild_argv = [str(LINEAGE), "rebuild", "run", str(base / "plan.json"), "--env", "b"]
        rebuild_argv += ["--allow-gaps", "--json"]
        cold, out = timed(rebuild_argv, env)
        migration = json.loads(out.stdout)["extra"]["migration"]
        direct_argv = [*run_argv(base / "raw.csv"), "--pipeline-root", str(base / "root-b")]
        direct: list[float] = []
        rebuild: list[float] = []
        phases: list[dict[str, float]] = []
        for i in range(args.runs):
            pair = [("direct", direct_argv), ("rebuild", rebuild_argv)]
            for name, argv in pair if i % 2 == 0 else reversed(pair):
                elapsed, out = timed(argv, env)
                (direct if name == "direct" else rebuild).append(elapsed)
                if name == "rebuild":
                    result = json.loads(out.stdout)
                    assert result["verdict"] == "identical"
                    phases.append(result["extra"]["seconds"])
    report(args, cold, migration, direct, rebuild)
    own = {k: statistics.median(p.get(k, 0.0) for p in phases) for k in phases[0]}
    print(f"rebuild phases, medians (s): {own}")
    print(
        "the rebuild's own work (check, migrate, rewrite, verify): "
        f"{sum(v for k, v in own.items() if k != 'execute'):.2f} s per rebuild"
    )


def report(
    args: argparse.Namespace,
    cold: float,
    migration: dict[str, list[dict[str, int]]],
    direct: list[float],
    rebuild: list[float],
) -> None:
    d, r = statistics.median(direct), statistics.median(rebuild)
    moved = sum(x.get("bytes_copied", 0) for part in migration.values() for x in part)
    print(f"runs {args.runs}, data {args.data_mib} MiB, load average {os.getloadavg()}")
    print(f"direct lineage run: median {d:.2f} s  {[round(x, 2) for x in direct]}")
    print(f"rebuild run (migrated): median {r:.2f} s  {[round(x, 2) for x in rebuild]}")
    print(f"rebuild run (first, migrating {moved / 2**20:.1f} MiB): {cold:.2f} s")
    print(f"overhead: {r / d:.3f}x direct (target <= 1.10x plus the migration)")


if __name__ == "__main__":
    main()
