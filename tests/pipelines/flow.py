"""Test pipelines with control flow: loops, conditions, exit handlers, nested pipelines."""

import warnings

from kfp import dsl
from kfp.dsl import Dataset

from tests.pipelines.basic import train_chain
from tests.pipelines.components import (
    coin,
    echo,
    make_data,
    report_status,
    say,
    score,
    sum_all,
    train,
)


@dsl.pipeline(name="loop-static")
def loop_static() -> None:
    with dsl.ParallelFor(items=[1, 2, 3]) as item:
        say(text=f"item {item}")


@dsl.pipeline(name="loop-collected")
def loop_collected(counts: list = [1, 2, 3]) -> None:  # type: ignore[type-arg]  # noqa: B006 - KFP reads the default and the bare list
    with dsl.ParallelFor(items=counts, parallelism=2) as count:
        one = sum_all(values=[count, count])
    sum_all(values=dsl.Collected(one.output))


@dsl.pipeline(name="loop-nested")
def loop_nested() -> None:
    with dsl.ParallelFor(items=["a", "b"]) as outer, dsl.ParallelFor(items=[1, 2]) as inner:
        say(text=f"{outer}-{inner}")


@dsl.pipeline(name="condition-if-elif-else")
def condition_if_elif_else() -> None:
    flip = coin()
    with dsl.If(flip.output == "heads"):
        say(text="heads")
    with dsl.Elif(flip.output == "tails"):
        say(text="tails")
    with dsl.Else():
        echo(message="edge")


@dsl.pipeline(name="condition-legacy")
def condition_legacy(rows: int = 5) -> None:
    with warnings.catch_warnings():  # the deprecated API is what this pipeline covers
        warnings.simplefilter("ignore", DeprecationWarning)
        with dsl.Condition(rows > 3, name="big"):
            make_data(rows=rows)


@dsl.pipeline(name="exit-handler")
def exit_handler() -> None:
    final = report_status()
    with dsl.ExitHandler(final, name="guarded"):
        data = make_data(rows=2)
        train(data=data.outputs["data"], rate=0.2)


@dsl.pipeline(name="inner-data")
def inner_data(rows: int = 4) -> Dataset:
    return make_data(rows=rows).outputs["data"]


@dsl.pipeline(name="nested")
def nested(rows: int = 4) -> None:
    data = inner_data(rows=rows)
    model = train(data=data.output, rate=0.1)
    score(model=model.outputs["model"])


@dsl.pipeline(name="middle")
def middle(rows: int = 2) -> None:
    inner_data(rows=rows)
    with dsl.ParallelFor(items=[0.1, 0.2]) as rate:
        train_chain(rows=rows, rate=rate)


@dsl.pipeline(name="deeply-nested")
def deeply_nested() -> None:
    middle(rows=3)
    with dsl.If(coin().output == "heads"):
        middle(rows=1)


@dsl.pipeline(name="oneof")
def oneof() -> None:
    flip = coin()
    with dsl.If(flip.output == "heads"):
        a = say(text="A")
    with dsl.Else():
        b = say(text="B")
    say(text=dsl.OneOf(a.output, b.output))
