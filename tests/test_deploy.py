"""The shared deployment file stays valid and in step with the pinned client."""

from __future__ import annotations

import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed (scripts/install-services installs it)")
    return found


def test_docker_compose_accepts_the_file() -> None:
    out = subprocess.run(
        [_compose(), "-f", str(REPO / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    assert {"mysql", "mlmd", "neo4j", "registry", "lineage"} <= set(services)
    assert services["lineage"]["environment"]["LINEAGE_STORE__ADDRESS"] == "mlmd:8080"


def test_the_mlmd_server_image_matches_the_client() -> None:
    spec = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    image = spec["services"]["mlmd"]["image"]
    assert image.endswith(":" + version("ml-metadata"))
