"""The comparison of a rebuilt run with its plan: verdicts per output, the first divergence,
and what it affects downstream, across the runs of a plan."""

from __future__ import annotations

from typing import Any

from lineage import model
from lineage.model import Artifact, Event, EventType, RunRecord
from lineage.rebuild.compare import RebuiltRun, compare
from lineage.rebuild.verdict import Verdict, worst

D = {name: "sha256:" + ch * 64 for name, ch in (("raw", "1"), ("data", "2"), ("model", "3"))}
METRICS = "sha256:" + "4" * 64


def _task(path: str, reads: list[str], writes: list[tuple[str, str, str]]) -> dict[str, Any]:
    outputs = []
    for name, artifact, digest in writes:
        entry: dict[str, Any] = {"name": name, "artifact": artifact, "digest": digest}
        if name == "metrics":
            entry.update(type="system.Metrics", metrics={"accuracy": 0.9, "loss": 0.1})
        outputs.append(entry)
    return {"path": path, "inputs": [{"artifact": a} for a in reads], "outputs": outputs}


def _plan(tolerances: dict[str, float] | None = None) -> dict[str, Any]:
    one = [
        _task("prepare", [], [("data", "artifact:a/data", D["data"])]),
        _task("fit", ["artifact:a/data"], [("model", "artifact:a/model", D["model"])]),
        _task("score", ["artifact:a/model"], [("metrics", "artifact:a/metrics", METRICS)]),
    ]
    two = [_task("importer", [], [("artifact", "artifact:a/model", D["model"])])]
    two.append(_task("serve", ["artifact:a/model"], [("out", "artifact:b/out", D["raw"])]))
    return {
        "runs": [{"id": "run:one", "tasks": one}, {"id": "run:two", "tasks": two}],
        "tolerances": tolerances or {},
    }


Made = dict[str, tuple[str, dict[str, Any]]]  # "task.output" -> (digest, more properties)


def _rebuilt(run: str, made: Made, failed: dict[str, str] | None = None) -> RebuiltRun:
    artifacts: list[Artifact] = []
    events: list[Event] = []
    for i, (where, (digest, extra)) in enumerate(made.items()):
        path, name = where.split(".")
        art = Artifact(f"artifact:new/{run}/{i}", "system.Artifact", f"/b/{i}")
        art = Artifact(art.id, art.type, art.uri, properties={"digest": digest, **extra})
        artifacts.append(art)
        events.append(Event(model.task_id(run, path), art.id, EventType.OUTPUT, (name,)))
    return RebuiltRun(run, RunRecord((), (), tuple(artifacts), tuple(events)), failed or {})


def test_every_output_identical_is_identical() -> None:
    one = _rebuilt(
        "r1",
        {
            "prepare.data": (D["data"], {}),
            "fit.model": (D["model"], {}),
            "score.metrics": (METRICS, {}),
        },
    )
    two = _rebuilt("r2", {"importer.artifact": (D["model"], {}), "serve.out": (D["raw"], {})})
    result = compare(_plan(), {"run:one": one, "run:two": two})
    assert [o.verdict for o in result.outputs] == [Verdict.IDENTICAL] * 5
    assert result.first_divergent_task is None and result.downstream_affected == ()
    assert worst([o.verdict for o in result.outputs]) is Verdict.IDENTICAL


def test_a_divergence_names_its_task_and_everything_downstream_across_runs() -> None:
    one = _rebuilt(
        "r1",
        {
            "prepare.data": (D["data"], {}),
            "fit.model": ("sha256:" + "9" * 64, {}),
            "score.metrics": (METRICS, {}),
        },
    )
    result = compare(_plan(), {"run:one": one, "run:two": None})
    verdicts = {(o.task, o.output): o.verdict for o in result.outputs}
    assert verdicts[("fit", "model")] is Verdict.DIVERGENT
    assert verdicts[("importer", "artifact")] is Verdict.MISSING
    assert result.first_divergent_task == "run:one/fit"
    assert result.downstream_affected == ("artifact:a/metrics", "artifact:b/out")


def test_metrics_within_the_declared_tolerance_and_beyond_it() -> None:
    def score(accuracy: float, tolerances: dict[str, float]) -> Any:
        one = _rebuilt(
            "r1",
            {
                "prepare.data": (D["data"], {}),
                "fit.model": (D["model"], {}),
                "score.metrics": ("sha256:" + "8" * 64, {"accuracy": accuracy, "loss": 0.1}),
            },
        )
        result = compare(_plan(tolerances), {"run:one": one})
        return next(o for o in result.outputs if o.output == "metrics")

    close = score(0.9 + 1e-12, {"accuracy": 1e-9})
    assert close.verdict is Verdict.WITHIN_TOLERANCE and "accuracy differs by" in close.detail
    far = score(0.91, {"accuracy": 1e-9})
    assert far.verdict is Verdict.DIVERGENT and "metric accuracy" in far.detail
    # Without a tolerance, different bytes are divergent, whatever the metrics say.
    assert score(0.9, {}).verdict is Verdict.DIVERGENT


def test_a_failed_task_fails_its_outputs() -> None:
    one = _rebuilt("r1", {"prepare.data": (D["data"], {})}, failed={"fit": "exit code 1"})
    result = compare(_plan(), {"run:one": one})
    verdicts = {(o.task, o.output): (o.verdict, o.detail) for o in result.outputs}
    assert verdicts[("fit", "model")] == (Verdict.FAILED, "task failed: exit code 1")
    assert verdicts[("score", "metrics")][0] is Verdict.MISSING
    assert result.first_divergent_task == "run:one/fit"
