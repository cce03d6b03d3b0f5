"""What ``lineage rebuild run`` refuses before anything moves or runs.

The plan's own integrity (its content hashes to its id) is checked where it is read
(``document.load_plan``). Here: its gaps (refused unless allowed), a run with no spec
to run, control flow the target's runner cannot run, and inputs whose bytes no longer
hash to their digest. Nothing is migrated before all of it passes, so a refusal never
leaves anything half-done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineage.digest import content_digest
from lineage.errors import BadInputError, LineageError
from lineage.ingest import ir
from lineage.rebuild.gaps import GapsFoundError


class UnrunnableError(BadInputError):
    """The plan needs what the target environment's runner cannot do."""


# What each runner cannot run, by the feature's name in the spec. kfp.local walks one
# DAG after the other: no loops, no conditions, no exit handlers.
_LOCAL_RUNNERS = frozenset({"local"})


def check_gaps(plan: Mapping[str, Any], allow_gaps: bool) -> tuple[str, ...]:
    """The plan's gaps as lines; refused (exit 10) unless ``allow_gaps``."""
    gaps = tuple(
        f"{gap['kind']} {gap['subject']}: {gap['reason']}" for gap in plan.get("gaps") or []
    )
    if gaps and not allow_gaps:
        raise GapsFoundError(
            f"plan {plan['id']} has {len(gaps)} hermeticity gap(s) "
            f"(first: {gaps[0]}); --allow-gaps runs it and records them"
        )
    return gaps


def _control_flow(task: ir.IrTask) -> str | None:
    feature = ir.unsupported_by_local(task)
    if feature:
        return feature
    if "iteratorPolicy" in task.spec:
        return "dsl.ParallelFor (parallelism)"
    return None


def check_runnable(plan: Mapping[str, Any], runner: str) -> None:
    """Every run of the plan has a spec, and the runner can run every task of it."""
    for run in plan.get("runs") or []:
        where = f"plan {plan['id']}: run {run['id']}"
        entry = run.get("pipeline_spec")
        if not entry or not isinstance(entry.get("spec"), Mapping):
            raise UnrunnableError(
                f"{where}: the plan holds no pipeline spec for it: nothing to run"
            )
        if runner not in _LOCAL_RUNNERS:
            continue
        for task in ir.walk_tasks(entry["spec"], where):
            feature = _control_flow(task)
            if feature:
                raise UnrunnableError(
                    f"{where}: task {task.path} uses {feature}, which the {runner!r} runner "
                    "(kfp.local) cannot run; refused before anything was migrated"
                )
        for task in run.get("tasks") or []:
            kind = task.get("kind")
            if kind not in (None, "dag", "container", "importer"):
                raise UnrunnableError(
                    f"{where}: task {task['path']} has a {kind} executor, which the "
                    f"{runner!r} runner (kfp.local) cannot run"
                )


class TamperedInputError(BadInputError):
    """An input whose bytes no longer hash to the digest the plan names."""


def check_inputs(plan: Mapping[str, Any]) -> None:
    """Every input the plan names by digest still holds those bytes where it was recorded.

    Checked at the source even when the target already holds a copy: a plan whose input
    changed under it is refused, whatever was migrated before."""
    for item in plan.get("inputs") or []:
        digest = item.get("digest")
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            continue  # a gap, carried by the plan
        try:
            found = content_digest(str(item["uri"])).value
        except LineageError as exc:
            raise TamperedInputError(
                f"input {item['artifact']}: cannot read it to check its digest: {exc}"
            ) from exc
        if found != digest:
            raise TamperedInputError(
                f"input {item['artifact']} ({item['uri']}) no longer matches its digest: "
                f"it hashes to {found}, the plan names {digest}; refused before anything ran"
            )
