"""Pipelines `lineage rebuild run` rebuilds (loaded by file path by `lineage run`).

Every component runs in the image ``REBUILD_TEST_IMAGE`` names (an image the tests push
into the first environment's registry, by digest), and installs nothing when it starts.
``drifting`` has a deliberately non-deterministic step: ``noise`` draws an unseeded
random number.
"""

import os

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

IMAGE = os.environ.get("REBUILD_TEST_IMAGE", "python:3.11-slim")


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def prepare(raw: Input[Dataset], rows: int, data: Output[Dataset]) -> int:
    with open(raw.path) as handle:
        lines = [line for line in handle.read().splitlines() if line][:rows]
    with open(data.path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return len(lines)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def noise(data: Input[Dataset], noisy: Output[Dataset]) -> None:
    import random

    with open(data.path) as handle:
        text = handle.read()
    with open(noisy.path, "w") as handle:
        handle.write(f"{text}{random.random()}\n")


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def fit(data: Input[Dataset], scale: float, model: Output[Model]) -> None:
    with open(data.path) as handle:
        total = sum(len(line) for line in handle.read().splitlines())
    with open(model.path, "w") as handle:
        handle.write(f"{total * scale:.6f}\n")


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def score(model: Input[Model], metrics: Output[Metrics]) -> None:
    with open(model.path) as handle:
        value = float(handle.read())
    metrics.log_metric("accuracy", round(1.0 / (1.0 + value), 6))
    with open(metrics.path, "w") as handle:
        handle.write(f"{value}\n")


@dsl.pipeline(name="rebuild-steady")
def steady(data_uri: str, rows: int = 4, scale: float = 0.5) -> None:
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=Dataset)
    prepared = prepare(raw=raw.output, rows=rows)
    fitted = fit(data=prepared.outputs["data"], scale=scale)
    score(model=fitted.outputs["model"])


@dsl.pipeline(name="rebuild-drifting")
def drifting(data_uri: str, rows: int = 4, scale: float = 0.5) -> None:
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=Dataset)
    prepared = prepare(raw=raw.output, rows=rows)
    noisy = noise(data=prepared.outputs["data"])
    fitted = fit(data=noisy.outputs["noisy"], scale=scale)
    score(model=fitted.outputs["model"])
