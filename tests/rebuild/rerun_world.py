"""Two environments on one machine for `lineage rebuild run`: A and B (and C, sharing B's
registry), each with its own store and pipeline root, A and B each with its own
docker-registry; an image pushed into A's registry by digest, in which the pipelines of
``rerun_pipelines.py`` run. Its fixtures are imported by the tests that use them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lineage.model import KfpType
from lineage.rebuild.document import load_plan
from lineage.store.connect import open_sqlite
from tests.conftest import require
from tests.services import RegistryService, build_oci_layout, layout_digest

REPO = Path(__file__).resolve().parents[2]
LINEAGE = Path(sys.executable).parent / "lineage"
PIPELINES = "tests/rebuild/rerun_pipelines.py"
RAW = "".join(f"{i},{i * i}\n" for i in range(8))


@dataclass
class Places:
    base: Path
    env: dict[str, str]
    image: str  # in A's registry, by digest
    a: RegistryService
    b: RegistryService

    @property
    def home(self) -> Path:
        return self.base / "home"

    def lineage(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
        env.update(self.env)
        env.update(extra)
        return subprocess.run(
            [str(LINEAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
        )

    def run_in_a(self, pipeline: str, raw: Path) -> dict[str, Any]:
        out = self.lineage(
            "run",
            f"{PIPELINES}:{pipeline}",
            "--arg",
            f"data_uri={raw}",
            "--pipeline-root",
            str(self.base / "root-a"),
            "--snapshot-inputs",
            "--json",
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return dict(json.loads(out.stdout))

    def plan(self, run: dict[str, Any], path: Path) -> dict[str, Any]:
        model = output(run, "fit", "model")["id"]
        out = self.lineage("rebuild", "plan", model, "--allow-gaps", "-o", str(path))
        assert out.returncode == 0, out.stderr[-3000:]
        return load_plan(path)

    def rebuild(self, plan: Path, env: str = "b") -> subprocess.CompletedProcess[str]:
        return self.lineage("rebuild", "run", str(plan), "--env", env, "--allow-gaps", "--json")

    def runs(self) -> list[str]:
        store = open_sqlite(self.home / "mlmd.sqlite")
        try:
            page = store.list_contexts(type=KfpType.PIPELINE_RUN.value, page_size=1000)
            return sorted(c.id for c in page.items)
        finally:
            store.close()


def output(run: dict[str, Any], task: str, name: str) -> dict[str, Any]:
    found = next(t for t in run["tasks"] if t["name"] == task)
    return dict(found["outputs"][name])


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Places]:
    base = tmp_path_factory.mktemp("rerun")
    a, b = RegistryService(), RegistryService()
    try:
        require("registry A", a)
        require("registry B", b)
        layout = build_oci_layout(base / "image", {"usr/bin/python3": b"not really python"})
        a.push(layout, "library/python:3.11-slim")
        image = f"{a.address}/library/python@{layout_digest(layout)}"
        env = {
            "LINEAGE_HOME": str(base / "home"),
            "LINEAGE_INSECURE_REGISTRIES": f"{a.address},{b.address}",
            "REBUILD_TEST_IMAGE": image,
        }
        for name, registry in (("A", a), ("B", b), ("C", b)):
            env[f"LINEAGE_ENVIRONMENTS__{name}__REGISTRY"] = registry.address
            env[f"LINEAGE_ENVIRONMENTS__{name}__STORE"] = str(base / f"store-{name.lower()}")
            env[f"LINEAGE_ENVIRONMENTS__{name}__PIPELINE_ROOT"] = str(base / f"root-{name.lower()}")
        yield Places(base, env, image, a, b)
    finally:
        a.close()
        b.close()


@pytest.fixture(scope="module")
def raw(places: Places) -> Path:
    path = places.base / "lake" / "raw.csv"
    path.parent.mkdir()
    path.write_text(RAW)
    return path


@pytest.fixture(scope="module")
def steady(places: Places, raw: Path) -> tuple[dict[str, Any], Path]:
    run = places.run_in_a("steady", raw)
    path = places.base / "steady.plan.json"
    places.plan(run, path)
    return run, path
