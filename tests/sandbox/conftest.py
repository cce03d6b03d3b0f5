"""The sandbox's test image, built by tools/build-test-image (cached by its inputs) and
pushed with skopeo to the session's docker-registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require, unavailable
from tests.services import RegistryService

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / "tools" / "build-test-image"
IMAGE_REPOSITORY = "kfp-lineage/sandbox-test"


@dataclass(frozen=True)
class BuiltImage:
    layout: Path
    digest: str
    reference: str  # registry/repository@digest, as the components name it
    registry: RegistryService


def build_image(*extra: str) -> dict[str, str]:
    """Runs the builder; {"layout": ..., "digest": ...}."""
    for tool in ("debootstrap", "bwrap", "umoci", "skopeo"):
        if shutil.which(tool) is None:
            unavailable(tool, f"{tool} is not installed (scripts/install-services installs it)")
    if os.geteuid() != 0:
        unavailable("debootstrap", "building the test image needs root (debootstrap, chroot)")
    result = subprocess.run(
        [str(BUILDER), *extra], capture_output=True, text=True, timeout=1800, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    doc: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return doc


@pytest.fixture(scope="session")
def test_image(registry_service: RegistryService) -> BuiltImage:
    registry = require("registry", registry_service)
    built = build_image()
    layout = Path(built["layout"])
    registry.push(layout, f"{IMAGE_REPOSITORY}:latest")
    reference = f"{registry.address}/{IMAGE_REPOSITORY}@{built['digest']}"
    return BuiltImage(layout, built["digest"], reference, registry)
