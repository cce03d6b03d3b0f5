"""Test pipelines without control flow: component kinds, importers, every system type."""

from kfp import dsl
from kfp.dsl import Dataset, Model

from tests.pipelines.components import (
    containerized,
    copy_file,
    echo,
    echo_pinned,
    every_input,
    every_output,
    make_data,
    say,
    score,
    split,
    train,
    write_path,
)


@dsl.pipeline(name="hello")
def hello(text: str = "hi") -> None:
    say(text=text)


@dsl.pipeline(name="container-only")
def container_only(message: str = "hello") -> None:
    echo(message=message)


@dsl.pipeline(name="container-pinned")
def container_pinned() -> None:
    echo_pinned(message="pinned")
    echo(message="tagged")


@dsl.pipeline(name="train-chain")
def train_chain(rows: int = 10, rate: float = 0.1) -> None:
    data = make_data(rows=rows)
    model = train(data=data.outputs["data"], rate=rate)
    score(model=model.outputs["model"])


@dsl.pipeline(name="importer-constant")
def importer_constant() -> None:
    raw = dsl.importer(
        artifact_uri="gs://bucket/raw/data.csv", artifact_class=Dataset, reimport=False
    )
    train(data=raw.output, rate=0.5)


@dsl.pipeline(name="importer-param")
def importer_param(uri: str = "s3://bucket/model.bin") -> None:
    imported = dsl.importer(
        artifact_uri=uri, artifact_class=Model, reimport=True, metadata={"origin": "registry"}
    )
    score(model=imported.output)


@dsl.pipeline(name="all-system-types")
def all_system_types() -> None:
    made = every_output()
    every_input(
        artifact=made.outputs["artifact"],
        dataset=made.outputs["dataset"],
        model=made.outputs["model"],
        metrics=made.outputs["metrics"],
        classification=made.outputs["classification"],
        sliced=made.outputs["sliced"],
        html=made.outputs["html"],
        markdown=made.outputs["markdown"],
    )


@dsl.pipeline(name="containerized-python")
def containerized_python(text: str = "abc") -> None:
    containerized(text=text)


@dsl.pipeline(name="named-outputs")
def named_outputs(n: int = 7) -> None:
    parts = split(n=n)
    write_path(value="x").after(parts)
    say(text=f"low={parts.outputs['low']}")


@dsl.pipeline(name="task-options")
def task_options() -> None:
    first = say(text="a")
    first.set_caching_options(False)
    first.set_retry(num_retries=3, backoff_duration="5s")
    first.set_cpu_limit("1").set_memory_limit("512Mi")
    first.set_env_variable("MODE", "test")
    first.set_display_name("first step")
    say(text="b").after(first)


@dsl.pipeline(name="mixed-components")
def mixed_components(rows: int = 3) -> None:
    data = make_data(rows=rows)
    copied = copy_file(source=data.outputs["data"])
    train(data=copied.outputs["target"], rate=0.3)
    containerized(text="mixed")
