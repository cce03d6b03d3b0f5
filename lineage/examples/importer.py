# mypy: disable-error-code="untyped-decorator"
# (kfp's @dsl.component and @dsl.pipeline carry no type information)
"""Four steps from imported raw data: importer -> prepare -> train -> evaluate.

The raw CSV comes from outside the pipeline through ``dsl.importer``, as data
from a lake or a bucket would. ``write_sample_data`` writes one to try it:

    python -c "from lineage.examples.importer import write_sample_data as w; w('/tmp/raw.csv')"
    lineage run lineage/examples/importer.py:importer_pipeline --arg data_uri=/tmp/raw.csv
"""

from pathlib import Path
from types import SimpleNamespace

from kfp import dsl
from kfp.dsl import Dataset, Input, Output

from lineage.examples.training import evaluate_model, make_dataset, train_model


@dsl.component(base_image="python:3.11-slim")
def prepare_dataset(raw: Input[Dataset], dataset: Output[Dataset]) -> int:
    """Drop malformed and duplicate rows, in a stable order; returns the rows kept."""
    seen = set()
    kept = []
    with open(raw.path, encoding="utf-8") as handle:
        header, *lines = [line.strip() for line in handle if line.strip()]
    for line in lines:
        parts = line.split(",")
        if len(parts) != 3 or line in seen:
            continue
        try:
            float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            continue
        seen.add(line)
        kept.append(line)
    with open(dataset.path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join([header, *kept]) + "\n")
    dataset.metadata.update({"rows": len(kept), "dropped": len(lines) - len(kept)})
    return len(kept)


@dsl.pipeline(name="importer-training", description="imported raw data to a scored model")
def importer_pipeline(data_uri: str, epochs: int = 40, learning_rate: float = 0.5) -> None:
    raw = dsl.importer(
        artifact_uri=data_uri,
        artifact_class=Dataset,
        reimport=False,
        metadata={"source": "outside the pipeline"},
    )
    prepared = prepare_dataset(raw=raw.output)
    trained = train_model(
        dataset=prepared.outputs["dataset"], epochs=epochs, learning_rate=learning_rate
    )
    evaluate_model(dataset=prepared.outputs["dataset"], model=trained.outputs["model"])


def write_sample_data(path: str | Path, rows: int = 200, seed: int = 3) -> Path:
    """Write a raw CSV for ``importer_pipeline`` with the dataset component's own code."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = SimpleNamespace(path=str(target), metadata={})
    make_dataset.python_func(rows=rows, seed=seed, dataset=out)
    return target
