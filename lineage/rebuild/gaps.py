"""Hermeticity gaps: what keeps a plan from naming everything a rebuild needs by content.

Gaps are read from the plan itself, so a plan carries them and anyone can check them
again. Each names its subject (a run, a task, an artifact) and says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lineage.errors import LineageError
from lineage.rebuild.runs import ENFORCE_IMAGES
from lineage.rebuild.upstream import IMPORTER


class GapKind(StrEnum):
    NO_SPEC = "no-pipeline-spec"  # the store holds no spec for the run: nothing to run
    RUNNER = "runner-ignores-images"  # the runner does not run each task in its image
    IMAGE_BY_TAG = "image-by-tag"  # no digest known for the image a task names
    INSTALLS = "installs-at-start"  # the command installs packages when it starts
    NON_DETERMINISTIC = "non-deterministic"  # the task is marked non-deterministic
    INPUT = "input-without-digest"  # an input with neither a content digest nor a snapshot
    OUTPUT = "output-without-digest"  # an output a rebuild cannot be compared with


class GapsFoundError(LineageError):
    """A plan with gaps, asked for without ``--allow-gaps``."""

    exit_code = 10
    code = "FAILED_PRECONDITION"


@dataclass(frozen=True, slots=True)
class Gap:
    kind: GapKind
    subject: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "subject": self.subject, "reason": self.reason}


def find_gaps(plan: Mapping[str, Any]) -> list[Gap]:
    """Every gap of a plan body: runs and their tasks in plan order, then the inputs."""
    gaps: list[Gap] = []
    for run in plan.get("runs", []):
        gaps.extend(_run_gaps(run))
        for task in run.get("tasks", []):
            gaps.extend(_task_gaps(task))
    for item in plan.get("inputs", []):
        if item.get("digest") is None and not item.get("snapshots"):
            why = item.get("digest_absent") or "not recorded"
            gaps.append(
                Gap(
                    GapKind.INPUT,
                    item["artifact"],
                    f"input {item.get('uri') or item['artifact']} has no content digest ({why}) "
                    "and no snapshot: the bytes it held cannot be checked or copied by content",
                )
            )
    return gaps


def _run_gaps(run: Mapping[str, Any]) -> Iterator[Gap]:
    if run.get("pipeline_spec") is None:
        yield Gap(
            GapKind.NO_SPEC,
            run["id"],
            "the store holds no pipeline spec for this run, so there is nothing to run again "
            "(record it with `lineage ingest spec`)",
        )
    runner = run.get("runner")
    if runner not in ENFORCE_IMAGES:
        yield Gap(GapKind.RUNNER, run["id"], _runner_reason(str(runner)))


def _runner_reason(runner: str) -> str:
    if runner.startswith("kfp.local."):
        return (
            f"{runner} runs each task as a process of the local Python: the image its spec "
            "names is never pulled, so the image is not what ran"
        )
    if runner == "tfx":
        return "the store does not say which orchestrator ran this TFX run, nor that it ran images"
    return f"the runner {runner} is not known to run each task in its image"


def _task_gaps(task: Mapping[str, Any]) -> Iterator[Gap]:
    image = task.get("image")
    if image is not None and not image.get("digest"):
        yield Gap(
            GapKind.IMAGE_BY_TAG,
            task["id"],
            f"image {image.get('reference')} is known only by its tag: no digest was pinned "
            "in the spec, read from its pod or resolved at a registry "
            "(`lineage images resolve --all`)",
        )
    if task.get("installs_at_start"):
        yield Gap(
            GapKind.INSTALLS,
            task["id"],
            f"its command runs `{task['installs_at_start']}` when it starts: what it installs "
            "comes from a package index at run time, not from the image",
        )
    if task.get("non_deterministic"):
        yield Gap(
            GapKind.NON_DETERMINISTIC,
            task["id"],
            f"marked non-deterministic ({task['non_deterministic']}): its outputs are not "
            "expected to be the same twice",
        )
    if task.get("type") == IMPORTER:
        return  # what an importer brings in is an input of the plan, checked as one
    for output in task.get("outputs", []):
        if output.get("digest") is None:
            yield Gap(
                GapKind.OUTPUT,
                output["artifact"],
                f"output {output['name']} of task {task['path']} has no content digest "
                f"({output.get('digest_absent') or 'not recorded'}): a rebuild cannot be "
                "compared with it",
            )
