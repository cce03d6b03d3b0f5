"""Components the test pipelines share: lightweight, containerized and container ones."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    OutputPath,
    SlicedClassificationMetrics,
)

PINNED = "python@sha256:" + "3" * 64
BUSYBOX_PINNED = "docker.io/library/busybox@sha256:" + "b" * 64


@dsl.component(base_image="python:3.11-slim")
def say(text: str) -> str:
    return text


@dsl.component(base_image=PINNED)
def make_data(rows: int, data: Output[Dataset]) -> None:
    with open(data.path, "w") as handle:
        handle.write("x\n" * rows)


@dsl.component(base_image="python:3.10")
def train(data: Input[Dataset], rate: float, model: Output[Model]) -> None:
    with open(model.path, "w") as handle:
        handle.write(f"{rate}")


@dsl.component(base_image="python:3.11-slim")
def score(model: Input[Model], metrics: Output[Metrics]) -> float:
    metrics.log_metric("score", 1.0)
    return 1.0


@dsl.component(base_image="python:3.12-slim")
def every_output(
    artifact: Output[Artifact],
    dataset: Output[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    sliced: Output[SlicedClassificationMetrics],
    html: Output[HTML],
    markdown: Output[Markdown],
) -> None:
    for out in (artifact, dataset, model, html, markdown):
        with open(out.path, "w") as handle:
            handle.write(out.name)


@dsl.component(base_image="python:3.11-slim")
def every_input(
    artifact: Input[Artifact],
    dataset: Input[Dataset],
    model: Input[Model],
    metrics: Input[Metrics],
    classification: Input[ClassificationMetrics],
    sliced: Input[SlicedClassificationMetrics],
    html: Input[HTML],
    markdown: Input[Markdown],
) -> str:
    return "seen"


@dsl.component(base_image="python:3.11-slim")
# KFP's idioms below are annotations KFP reads, not Python types (a NamedTuple built in
# the annotation, OutputPath(str), a bare list): mypy is told so line by line.
def split(n: int) -> NamedTuple("Parts", [("low", int), ("high", int)]):  # type: ignore[valid-type]
    from collections import namedtuple

    return namedtuple("Parts", ["low", "high"])(n // 2, n - n // 2)  # type: ignore[call-arg, arg-type]


@dsl.component(base_image="python:3.11-slim")
def write_path(value: str, out: OutputPath(str)) -> None:  # type: ignore[valid-type]
    with open(out, "w") as handle:
        handle.write(value)


@dsl.component(base_image="python:3.11-slim")
def coin() -> str:
    return "heads"


@dsl.component(base_image="python:3.11-slim")
def sum_all(values: list) -> int:  # type: ignore[type-arg]
    return sum(values)


@dsl.component(base_image="python:3.11-slim")
def report_status(status: dsl.PipelineTaskFinalStatus) -> str:
    return status.state  # type: ignore[no-any-return] # kfp's types are Any here


@dsl.component(target_image="registry.example/containerized:1.0", base_image="python:3.11")
def containerized(text: str) -> str:
    return text.upper()


@dsl.container_component
def echo(message: str) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(image="alpine:3.19", command=["echo"], args=[message])


@dsl.container_component
def echo_pinned(message: str) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(image=BUSYBOX_PINNED, command=["echo"], args=[message])


@dsl.container_component
def copy_file(source: Input[Dataset], target: Output[Dataset]) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(image="ubuntu:24.04", command=["cp"], args=[source.path, target.path])
