"""``lineage demo``: record the example pipelines once, then serve them.

The examples run with kfp.local, as ``lineage run`` runs them. kfp.local names
each run by the time it ran, so the store keeps which examples are recorded
under one state key: a second start finds them all and records nothing. Each
example is noted as soon as it is recorded, so an interrupted first start
resumes where it stopped instead of recording twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lineage.errors import BadInputError
from lineage.model import KfpType, run_id
from lineage.store.port import MetadataStore

STATE_KEY = "demo.examples"
EXAMPLES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    file: str
    pipeline: str
    arguments: tuple[str, ...] = ()


def examples(home: Path) -> list[Example]:
    from lineage.examples.sweep import SWEEP

    raw = home / "demo" / "raw.csv"
    sweep = [
        Example(
            "sweep " + " ".join(f"{k}={v}" for k, v in sorted(point.items())),
            "sweep.py",
            "sweep_pipeline",
            tuple(f"{k}={v}" for k, v in sorted(point.items())),
        )
        for point in SWEEP
    ]
    return [
        Example("training", "training.py", "training_pipeline"),
        *sweep,
        Example("importer", "importer.py", "importer_pipeline", (f"data_uri={raw}",)),
    ]


@dataclass(frozen=True, slots=True)
class Recorded:
    runs: dict[str, str]  # example name -> run id
    recorded_now: int


def recorded(store: MetadataStore) -> dict[str, str]:
    """The examples already in the store (a state entry whose run was lost does not count)."""
    state = store.get_state(STATE_KEY) or {}
    runs = state.get("runs", {})
    if not isinstance(runs, dict):
        return {}
    present = {
        c.id for c in store.get_contexts(list(runs.values())) if c.type == KfpType.PIPELINE_RUN
    }
    return {name: run for name, run in runs.items() if run in present}


def record_examples(
    store: MetadataStore, home: Path, log: TextIO, say: Callable[[str], None]
) -> Recorded:
    from lineage.examples.importer import write_sample_data
    from lineage.ingest.kfp_local.sequence import prepare, run_and_record

    done = recorded(store)
    todo = [e for e in examples(home) if e.name not in done]
    if not todo:
        return Recorded(done, 0)
    raw = home / "demo" / "raw.csv"
    if not raw.exists():
        write_sample_data(raw)
    root = home / "local_outputs"
    for example in todo:
        say(f"recording the example {example.name!r} ({example.file}:{example.pipeline})")
        prepared = prepare(EXAMPLES_DIR / example.file, example.pipeline, example.arguments)
        local_run = run_and_record(store, prepared, root, log).run
        if local_run.state != "COMPLETE":
            raise BadInputError(
                f"the example {example.name!r} (run {local_run.run_id}) failed: "
                f"{local_run.error or 'a task failed'}"
            )
        done[example.name] = run_id(local_run.run_id)
        store.put_state(STATE_KEY, {"runs": done})
    return Recorded(done, len(todo))


def example_queries(store: MetadataStore, runs: dict[str, str]) -> list[tuple[str, str]]:
    """Three queries to paste into GraphiQL, with ids from this store."""
    model = "artifact:<a model id>"
    training = runs.get("training")
    if training:
        record = store.get_run(training)
        models = sorted(a.id for a in record.artifacts if a.type == KfpType.MODEL)
        model = models[0] if models else model
    return [
        (
            "Everything that went into the training model",
            f'{{ lineage(id: "{model}", direction: UPSTREAM) '
            "{ nodes { id kind name } edges { source target kind } truncated } }",
        ),
        (
            "The best model of the learning-rate sweep by accuracy",
            '{ bestModels(pipeline: "sweep", metric: "accuracy") '
            "{ models { rank value model { id uri } run { id name } } } }",
        ),
        (
            "Recorded runs with their tasks and images",
            "{ runs(first: 5) { nodes { id name state tasks { name state "
            "image { reference digest } } } } }",
        ),
    ]
