"""What a rebuild concluded: a verdict per output, and one for the whole rebuild.

These are plain values. ``lineage rebuild run`` produces them by comparing what the
target environment made against the plan, task by task in topological order; the
rebuild's record in the store (and its projection and GraphQL types) is built from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """The values are what the CLI, the store and GraphQL show."""

    IDENTICAL = "identical"  # every byte equal: the output's digest is the plan's
    WITHIN_TOLERANCE = "within tolerance"  # a metric the plan declares a tolerance for
    DIVERGENT = "divergent"  # made, but different
    MISSING = "missing"  # the rebuilt run did not make it
    FAILED = "failed"  # the rebuild itself failed at a task (no comparison possible)


# The order in which verdicts combine: a rebuild is as good as its worst output.
_RANK = {
    Verdict.IDENTICAL: 0,
    Verdict.WITHIN_TOLERANCE: 1,
    Verdict.DIVERGENT: 2,
    Verdict.MISSING: 3,
    Verdict.FAILED: 4,
}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The overall verdict: ``identical`` only when every output is identical.

    No outputs at all is ``failed``, never ``identical``: nothing was proven.
    """
    if not verdicts:
        return Verdict.FAILED
    return max(verdicts, key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class OutputVerdict:
    task: str  # the task's path in the plan, e.g. "train" or "loop[2].train"
    output: str  # the output's name in the component
    original: str  # the original artifact's lineage id
    expected_digest: str  # from the plan
    verdict: Verdict
    rebuilt: str | None = None  # the rebuilt artifact's lineage id, when it was made
    actual_digest: str | None = None
    detail: str = ""  # why not identical: the metric and its difference, or the error


@dataclass(frozen=True, slots=True)
class RebuildResult:
    plan_id: str
    model: str  # the model's lineage id the plan was made for
    environment: str  # the target environment's name
    runner: str  # e.g. "lineage.SubprocessRunner", "lineage.SandboxRunner"
    verdict: Verdict
    outputs: tuple[OutputVerdict, ...]
    run: str | None = None  # the rebuilt run's lineage id, when it ran
    first_divergent_task: str | None = None
    downstream_affected: tuple[str, ...] = ()  # outputs after the first divergence
    caveats: tuple[str, ...] = ()  # e.g. "image not enforced"; a plan's gaps too
    gaps: tuple[str, ...] = ()  # the plan's gaps when it was run with --allow-gaps
    started: str = ""  # ISO 8601, UTC
    finished: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hermetic(self) -> bool:
        """Counted as a hermetic rebuild only when identical with no caveat and no gap."""
        return self.verdict is Verdict.IDENTICAL and not self.caveats and not self.gaps

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
