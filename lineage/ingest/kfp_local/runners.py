"""What a runner other than kfp.local's own tells the walker, and what it records per task.

kfp.local (2.13) picks a task handler from a dict literal inside
``task_dispatcher.run_single_task_implementation``, keyed by the exact type of its
runner (SubprocessRunner, DockerRunner); it has no way to register a third. A runner
such as the bubblewrap sandbox therefore takes the container tasks from the walker,
which still walks the DAG and runs importers with kfp.local's own functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lineage.model import PropertyValue


@dataclass(frozen=True, slots=True)
class RanWith:
    """How a container task actually ran: the image by digest, and the runner's properties."""

    image: str  # registry/repository@sha256:... as pulled and run
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    failure: str | None = None  # why it failed, when the runner knows better than an exit code


class ContainerRunner(Protocol):
    @property
    def name(self) -> str:
        """What the run context records as its ``runner``, e.g. ``lineage.SandboxRunner``."""

    def prepare(self, images: Iterable[str]) -> None:
        """Gets every image ready before any task runs; raises if one cannot be."""

    def run_container(self, path: str, **task: Any) -> tuple[dict[str, Any], Any]:
        """Runs one container task, given ``run_single_task_implementation``'s arguments;
        returns its outputs and kfp.local's ``status.Status``."""

    def ran(self, path: str) -> RanWith | None:
        """What the task at ``path`` ran with, once it ran."""
