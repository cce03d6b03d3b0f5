# mypy: disable-error-code="untyped-decorator"
# (kfp's @dsl.component and @dsl.pipeline carry no type information)
"""The training pipeline's trainer under a small hyperparameter sweep.

kfp.local cannot run a ParallelFor, so a sweep is several runs of one
pipeline version, one per point of ``SWEEP``:

    for args in SWEEP:
        lineage run lineage/examples/sweep.py:sweep_pipeline --arg learning_rate=...
"""

from kfp import dsl

from lineage.examples.training import evaluate_model, make_dataset, train_model

# One dict of --arg values per run; every run shares the dataset (same rows and seed).
SWEEP: list[dict[str, str]] = [
    {"learning_rate": "0.05"},
    {"learning_rate": "0.2"},
    {"learning_rate": "0.8"},
]


def sweep_args(point: dict[str, str]) -> list[str]:
    """The ``--arg`` options of one sweep point."""
    return [f"--arg={name}={value}" for name, value in sorted(point.items())]


@dsl.pipeline(name="sweep", description="one trial of the learning-rate sweep")
def sweep_pipeline(learning_rate: float = 0.2, epochs: int = 20, rows: int = 120) -> None:
    data = make_dataset(rows=rows, seed=11)
    trained = train_model(
        dataset=data.outputs["dataset"], epochs=epochs, learning_rate=learning_rate
    )
    evaluate_model(dataset=data.outputs["dataset"], model=trained.outputs["model"])
