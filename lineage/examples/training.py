# mypy: disable-error-code="untyped-decorator"
# (kfp's @dsl.component and @dsl.pipeline carry no type information)
"""A deterministic training pipeline: dataset -> model -> metrics.

``make_dataset`` draws a two-feature binary classification set from a seeded
generator, ``train_model`` fits a logistic regression by plain gradient
descent, and ``evaluate_model`` scores it. Every component imports what it
needs inside its body: KFP ships a lightweight component's source alone.
"""

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output


@dsl.component(base_image="python:3.11-slim")
def make_dataset(rows: int, seed: int, dataset: Output[Dataset]) -> None:
    """A CSV of ``rows`` labelled points; the same seed gives the same bytes."""
    import random

    rng = random.Random(seed)
    lines = ["x1,x2,label"]
    for _ in range(rows):
        x1 = round(rng.uniform(-1.0, 1.0), 6)
        x2 = round(rng.uniform(-1.0, 1.0), 6)
        noise = rng.gauss(0.0, 0.25)
        label = 1 if 0.8 * x1 - 0.5 * x2 + noise > 0 else 0
        lines.append(f"{x1},{x2},{label}")
    with open(dataset.path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")
    dataset.metadata.update({"rows": rows, "seed": seed, "columns": ["x1", "x2", "label"]})


@dsl.component(base_image="python:3.11-slim")
def train_model(
    dataset: Input[Dataset], epochs: int, learning_rate: float, model: Output[Model]
) -> float:
    """Logistic regression by full-batch gradient descent; returns the final training loss."""
    import json
    import math

    with open(dataset.path, encoding="utf-8") as handle:
        rows = [line.strip().split(",") for line in handle.readlines()[1:] if line.strip()]
    points = [(float(a), float(b), int(c)) for a, b, c in rows]
    w1 = w2 = bias = 0.0
    loss = 0.0
    for _ in range(epochs):
        g1 = g2 = gb = loss = 0.0
        for x1, x2, label in points:
            p = 1.0 / (1.0 + math.exp(-(w1 * x1 + w2 * x2 + bias)))
            g1 += (p - label) * x1
            g2 += (p - label) * x2
            gb += p - label
            loss -= math.log(p if label else 1.0 - p)
        n = len(points)
        w1 -= learning_rate * g1 / n
        w2 -= learning_rate * g2 / n
        bias -= learning_rate * gb / n
        loss /= n
    weights = {"w1": round(w1, 12), "w2": round(w2, 12), "bias": round(bias, 12)}
    with open(model.path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump({"kind": "logistic-regression", "weights": weights}, handle, sort_keys=True)
        handle.write("\n")
    model.metadata.update(
        {"framework": "pure-python", "epochs": epochs, "learning_rate": learning_rate}
    )
    return round(loss, 12)


@dsl.component(base_image="python:3.11-slim")
def evaluate_model(
    dataset: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
) -> float:
    """Accuracy and a confusion matrix; the scores are also written as JSON files."""
    import json
    import math

    with open(model.path, encoding="utf-8") as handle:
        weights = json.load(handle)["weights"]
    with open(dataset.path, encoding="utf-8") as handle:
        rows = [line.strip().split(",") for line in handle.readlines()[1:] if line.strip()]
    matrix = [[0, 0], [0, 0]]
    for a, b, c in rows:
        z = weights["w1"] * float(a) + weights["w2"] * float(b) + weights["bias"]
        predicted = 1 if 1.0 / (1.0 + math.exp(-z)) >= 0.5 else 0
        matrix[int(c)][predicted] += 1
    accuracy = round((matrix[0][0] + matrix[1][1]) / max(1, len(rows)), 6)
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("examples", len(rows))
    confusion.log_confusion_matrix(["0", "1"], matrix)
    with open(metrics.path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump({"accuracy": accuracy, "examples": len(rows)}, handle, sort_keys=True)
        handle.write("\n")
    with open(confusion.path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump({"labels": ["0", "1"], "matrix": matrix}, handle, sort_keys=True)
        handle.write("\n")
    return accuracy


@dsl.pipeline(name="training", description="dataset -> model -> metrics, deterministically")
def training_pipeline(
    rows: int = 200, seed: int = 7, epochs: int = 40, learning_rate: float = 0.5
) -> None:
    data = make_dataset(rows=rows, seed=seed)
    trained = train_model(
        dataset=data.outputs["dataset"], epochs=epochs, learning_rate=learning_rate
    )
    evaluate_model(dataset=data.outputs["dataset"], model=trained.outputs["model"])
