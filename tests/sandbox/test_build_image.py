"""tools/build-test-image is reproducible: the full build, run again with its cache
bypassed (``--no-cache``: debootstrap, pip and the layout all over again, in a fresh
directory), gives the same manifest digest as the cached build the other tests use."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.sandbox.conftest import BuiltImage, build_image


def test_building_the_image_twice_gives_one_digest(test_image: BuiltImage) -> None:
    again = build_image("--no-cache")
    try:
        assert Path(again["layout"]) != test_image.layout
        assert again["digest"] == test_image.digest
    finally:
        shutil.rmtree(Path(again["layout"]).parent)
