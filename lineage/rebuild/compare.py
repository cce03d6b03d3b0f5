"""Compare what a rebuild made with what its plan expects, task by task in plan order.

- ``identical``: the rebuilt output's digest is the plan's;
- ``within tolerance``: a metrics output whose bytes differ, but whose every metric is
  equal to the plan's, or differs by no more than the tolerance the plan declares for it;
- ``divergent``: made, but different (or the plan has no digest to compare it with);
- ``missing``: the rebuilt run did not make it; ``failed``: its task failed.

The first task (in the plan's topological order) with an output that is not identical
or within tolerance is the first divergence; every output that reads from it, directly
or through other tasks and runs, is affected downstream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineage import model
from lineage.model import Artifact, EventType, RunRecord
from lineage.rebuild.tasks import METRICS_TYPES, metrics_of
from lineage.rebuild.verdict import OutputVerdict, Verdict

_GOOD = (Verdict.IDENTICAL, Verdict.WITHIN_TOLERANCE)


@dataclass(frozen=True, slots=True)
class RebuiltRun:
    """One rebuilt run, as recorded: its outputs by task path, and which tasks failed."""

    run_id: str  # the rebuilt run's id (without ``run:``)
    record: RunRecord
    failed: Mapping[str, str]  # task path -> error, for the tasks that failed

    def outputs(self, path: str) -> dict[str, Artifact]:
        execution = model.task_id(self.run_id, path)
        artifacts = {a.id: a for a in self.record.artifacts}
        return {
            str(e.key): artifacts[e.artifact]
            for e in self.record.events
            if e.execution == execution and e.type == EventType.OUTPUT and e.artifact in artifacts
        }


def _metrics_verdict(
    expected: Mapping[str, float], actual: Mapping[str, float], tolerances: Mapping[str, float]
) -> tuple[Verdict, str]:
    if set(expected) != set(actual):
        return Verdict.DIVERGENT, (
            f"metrics {sorted(actual)} differ from the planned {sorted(expected)}"
        )
    drifts: list[str] = []
    for name in sorted(expected):
        delta = abs(actual[name] - expected[name])
        if delta == 0:
            continue
        allowed = tolerances.get(name)
        if allowed is None or not math.isfinite(delta) or delta > allowed:
            limit = "no tolerance" if allowed is None else f"tolerance {allowed:g}"
            return Verdict.DIVERGENT, (
                f"metric {name}: {actual[name]!r}, planned {expected[name]!r} "
                f"(differs by {delta:g}; {limit})"
            )
        drifts.append(f"{name} differs by {delta:g} (tolerance {allowed:g})")
    return Verdict.WITHIN_TOLERANCE, "; ".join(drifts) or "every metric equal, the bytes differ"


def _judge(
    planned: Mapping[str, Any], made: Artifact, tolerances: Mapping[str, float]
) -> tuple[Verdict, str]:
    actual, expected = made.properties.get("digest"), planned.get("digest")
    if not expected:
        return Verdict.DIVERGENT, "the plan has no digest to compare"
    if actual == expected:
        return Verdict.IDENTICAL, ""
    if planned.get("type") in METRICS_TYPES and tolerances:
        return _metrics_verdict(
            planned.get("metrics") or {}, metrics_of(made.properties), tolerances
        )
    return Verdict.DIVERGENT, f"digest {actual or 'not recorded'}, planned {expected}"


def judge_output(
    task: Mapping[str, Any],
    planned: Mapping[str, Any],
    rebuilt: RebuiltRun | None,
    tolerances: Mapping[str, float],
) -> OutputVerdict:
    """The verdict on one planned output."""
    path, name = str(task["path"]), str(planned["name"])
    original, expected = str(planned["artifact"]), str(planned.get("digest") or "")
    made = rebuilt.outputs(path).get(name) if rebuilt is not None else None
    if made is None:
        error = rebuilt.failed.get(path) if rebuilt is not None else None
        verdict = Verdict.MISSING if error is None else Verdict.FAILED
        detail = "the rebuild did not make it" if error is None else f"task failed: {error}"
        return OutputVerdict(path, name, original, expected, verdict, detail=detail)
    actual = made.properties.get("digest")
    verdict, detail = _judge(planned, made, tolerances)
    return OutputVerdict(
        path,
        name,
        original,
        expected,
        verdict,
        rebuilt=made.id,
        actual_digest=actual if isinstance(actual, str) else None,
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    outputs: tuple[OutputVerdict, ...]
    first_divergent_task: str | None
    downstream_affected: tuple[str, ...]


def compare(plan: Mapping[str, Any], rebuilt: Mapping[str, RebuiltRun | None]) -> Comparison:
    """Every planned output of every run (``rebuilt`` by the plan's run id), in plan order."""
    tolerances = plan.get("tolerances") or {}
    verdicts: list[OutputVerdict] = []
    first: str | None = None
    tainted: set[str] = set()  # artifact ids downstream of the first divergence
    affected: list[str] = []
    for run in plan.get("runs") or []:
        for task in run["tasks"]:
            outs = [
                judge_output(task, planned, rebuilt.get(run["id"]), tolerances)
                for planned in task["outputs"]
            ]
            verdicts.extend(outs)
            reads = {i["artifact"] for i in task.get("inputs") or []}
            if first is not None and reads & tainted:
                tainted.update(o.original for o in outs)
                affected.extend(o.original for o in outs if o.original not in affected)
            if first is None and any(o.verdict not in _GOOD for o in outs):
                first = _label(run, task, len(plan["runs"]))
                tainted.update(o.original for o in outs)
    return Comparison(tuple(verdicts), first, tuple(affected))


def _label(run: Mapping[str, Any], task: Mapping[str, Any], runs: int) -> str:
    """A task's path, with its run's id when the plan has more than one run."""
    return str(task["path"]) if runs == 1 else f"{run['id']}/{task['path']}"


def produced(
    comparison: Sequence[OutputVerdict], rebuilt: RebuiltRun
) -> dict[str, tuple[str, str]]:
    """Original artifact id -> (URI, digest) of what a rebuilt run made: a later run of
    the plan imports these in place of the originals."""
    uris = {a.id: a.uri for a in rebuilt.record.artifacts}
    return {
        v.original: (uris[v.rebuilt], v.actual_digest or "")
        for v in comparison
        if v.rebuilt is not None and v.rebuilt in uris
    }
