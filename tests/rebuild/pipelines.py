"""Deterministic pipelines `lineage run` records for the rebuild tests (loaded by file path).

No component installs anything when it starts (``install_kfp_package=False``): the
only gaps of their plans are kfp.local's runner and images known by tag.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def prepare(raw: Input[Dataset], rows: int, data: Output[Dataset]) -> int:
    with open(raw.path) as handle:
        lines = [line for line in handle.read().splitlines() if line][:rows]
    with open(data.path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return len(lines)


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def fit(data: Input[Dataset], scale: float, model: Output[Model]) -> None:
    with open(data.path) as handle:
        total = sum(len(line) for line in handle.read().splitlines())
    with open(model.path, "w") as handle:
        handle.write(f"{total * scale:.6f}\n")


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def score(model: Input[Model], metrics: Output[Metrics]) -> None:
    with open(model.path) as handle:
        value = float(handle.read())
    metrics.log_metric("accuracy", round(1.0 / (1.0 + value), 6))
    with open(metrics.path, "w") as handle:
        handle.write(f"{value}\n")


@dsl.pipeline(name="rebuild-imported")
def imported(data_uri: str, rows: int = 3, scale: float = 0.5) -> None:
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=Dataset)
    prepared = prepare(raw=raw.output, rows=rows)
    fitted = fit(data=prepared.outputs["data"], scale=scale)
    score(model=fitted.outputs["model"])
