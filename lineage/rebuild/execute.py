"""``lineage rebuild run``: check, migrate, rewrite, execute and verify a plan elsewhere.

1. Check: the plan's gaps (refused unless allowed), a spec for every run, control flow
   the environment's runner can run, and every input's bytes against its digest where
   it was recorded. (That the plan's content still matches its id is checked where it
   is read.)
2. Migrate (``stage``): inputs (hashed again as they are copied), snapshots and images.
   Resumable, and a no-op once done.
3. Rewrite each run's spec to the target's copies (``rewrite``), and keep it there.
4. Execute each run, upstream first, with the environment's runner (``runners``); a run
   that imports an output of an earlier run imports its rebuilt copy.
5. Verify every output against the plan (``compare``) and conclude a ``RebuildResult``.
6. Record it in the store (``record.record_rebuild``: the ``lineage.Rebuild`` node and
   what it compared), and keep it as JSON in the target store beside the rewritten
   specs (``rebuilds/<rebuilt run id>.json``).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from lineage.rebuild.compare import RebuiltRun, compare, produced
from lineage.rebuild.environments import pick_environments
from lineage.rebuild.preflight import check_gaps, check_inputs, check_runnable
from lineage.rebuild.progress import Progress
from lineage.rebuild.record import record_rebuild
from lineage.rebuild.rewrite import Rewritten, keep, rewrite_run
from lineage.rebuild.runners import (
    IMAGE_NOT_ENFORCED,
    Job,
    Runner,
    runner_for,
    typed_arguments,
)
from lineage.rebuild.stage import pipeline_root, stage, target_store
from lineage.rebuild.verdict import RebuildResult, Verdict, worst
from lineage.settings import Settings
from lineage.snapshots.blobs import BlobStore
from lineage.store.port import MetadataStore

RESULTS_PREFIX = "rebuilds/"


@dataclass(frozen=True, slots=True)
class Rebuilt:
    id: str  # the rebuild's lineage id, as recorded
    result: RebuildResult
    specs: tuple[Rewritten, ...]
    location: str  # where the target store keeps the result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Clock:
    """Seconds spent in each phase, kept with the result (``extra.seconds``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._last, 3)
        self._last = now


def rebuild(
    plan: Mapping[str, Any],
    environment: str,
    settings: Settings,
    store: MetadataStore,
    *,
    allow_gaps: bool = False,
    log: TextIO | None = None,
    progress: Progress | None = None,
) -> Rebuilt:
    """Rebuild a checked plan (see ``document.load_plan``) in ``environment``."""
    clock, started = _Clock(), _now()
    name = environment.lower()
    env = pick_environments(settings, [name])[name]
    runner = runner_for(name, env.runner)
    gaps = check_gaps(plan, allow_gaps)
    check_runnable(plan, env.runner)
    check_inputs(plan)
    root = pipeline_root(name, env)
    blobs = target_store(name, env, settings.home.expanduser())
    clock.lap("check")
    staged = stage(plan, name, env, settings, progress)
    clock.lap("migrate")
    job = _Runs(plan, runner, root, store, blobs, log or io.StringIO(), clock)
    rebuilt, specs = job.run_all(dict(staged.inputs), staged.images)
    comparison = compare(plan, rebuilt)
    caveats = [] if runner.enforces_images else [IMAGE_NOT_ENFORCED]
    caveats.extend(staged.caveats)
    if gaps:
        caveats.append(f"the plan has {len(gaps)} hermeticity gap(s)")
    last = next((r for r in reversed(list(rebuilt.values())) if r is not None), None)
    clock.lap("verify")
    extra = {
        "runs": {plan_run: f"run:{r.run_id}" for plan_run, r in rebuilt.items() if r},
        "specs": [s.as_dict() for s in specs],
        "migration": staged.report,
        "seconds": clock.seconds,
    }
    result = RebuildResult(
        plan_id=str(plan["id"]),
        model=str(plan["model"]["artifact"]),
        environment=name,
        runner=runner.name,
        verdict=worst([o.verdict for o in comparison.outputs]),
        outputs=comparison.outputs,
        run=f"run:{last.run_id}" if last is not None else None,
        first_divergent_task=comparison.first_divergent_task,
        downstream_affected=comparison.downstream_affected,
        caveats=tuple(caveats),
        gaps=gaps,
        started=started,
        finished=_now(),
        extra=extra,
    )
    rebuild_id = record_rebuild(store, result)
    return Rebuilt(rebuild_id, result, tuple(specs), _keep_result(blobs, rebuild_id, result))


@dataclass(frozen=True, slots=True)
class _Runs:
    plan: Mapping[str, Any]
    runner: Runner
    root: Path
    store: MetadataStore
    blobs: BlobStore
    log: TextIO
    clock: _Clock

    def run_all(
        self, data: dict[str, tuple[str, str]], images: Mapping[str, str]
    ) -> tuple[dict[str, RebuiltRun | None], list[Rewritten]]:
        """Each run of the plan, upstream first; a later run imports the rebuilt copies of
        what an earlier one made. A run with a failed task ends the rebuild there."""
        rebuilt: dict[str, RebuiltRun | None] = {}
        specs: list[Rewritten] = []
        for run in self.plan["runs"]:
            rewritten = keep(self.blobs, rewrite_run(run, images, data))
            specs.append(rewritten)
            arguments = typed_arguments(rewritten.spec, run.get("parameters") or {})
            self.clock.lap("rewrite")
            done = self.runner.run(Job(rewritten, arguments, self.root, self.store, self.log))
            self.clock.lap("execute")
            rebuilt[run["id"]] = done
            judged = compare({**self.plan, "runs": [run]}, {run["id"]: done}).outputs
            data.update(produced(judged, done))
            if done.failed:
                break  # what later runs would import was not made
        return rebuilt, specs


def _keep_result(blobs: BlobStore, rebuild_id: str, result: RebuildResult) -> str:
    key = f"{RESULTS_PREFIX}{(result.run or 'not-run').removeprefix('run:')}.json"
    document = {"id": rebuild_id, **result.as_dict()}
    blobs.put_bytes(key, json.dumps(document, sort_keys=True, indent=1).encode() + b"\n")
    return f"{blobs.location.rstrip('/')}/{key}"


# Exit codes of ``lineage rebuild run`` by the overall verdict.
EXIT_CODES: dict[Verdict, int] = {
    Verdict.IDENTICAL: 0,
    Verdict.WITHIN_TOLERANCE: 0,
    Verdict.DIVERGENT: 11,
    Verdict.MISSING: 12,
    Verdict.FAILED: 12,
}
