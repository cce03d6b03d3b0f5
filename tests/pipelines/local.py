"""Pipelines `lineage run` runs in the tests (loaded by file path, so self-contained)."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def write_rows(rows: int, data: Output[Dataset]) -> None:
    with open(data.path, "w") as handle:
        handle.write("".join(f"{i}\n" for i in range(rows)))
    data.metadata["rows"] = rows


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def explode(data: Input[Dataset], limit: int) -> int:
    with open(data.path) as handle:
        count = len(handle.readlines())
    if count > limit:
        raise ValueError(f"boom: {count} rows is more than {limit}")
    return count


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def never(count: int) -> int:
    return count


@dsl.pipeline(name="prepare")
def prepare(rows: int = 5) -> Dataset:
    return write_rows(rows=rows).outputs["data"]


@dsl.pipeline(name="failing")
def failing(rows: int = 5, limit: int = 3) -> None:
    data = prepare(rows=rows)
    counted = explode(data=data.output, limit=limit)
    never(count=counted.output)


@dsl.container_component
def shell(message: str) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(image="alpine:3.19", command=["echo"], args=[message])


@dsl.pipeline(name="container-local")
def container_local() -> None:
    first = write_rows(rows=1)
    shell(message="kfp.local cannot run me in a subprocess").after(first)


@dsl.pipeline(name="looping")
def looping() -> None:
    with dsl.ParallelFor(items=[1, 2]) as n:
        write_rows(rows=n)
