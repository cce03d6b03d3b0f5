"""The links that run back down the node families, bound when the families load.

Runs import tasks and artifacts, and tasks import artifacts: a run lists its tasks and
artifacts, a task its artifacts. The links the other way (an artifact's or a task's run,
an artifact's or an image's tasks) are looked up here. ``runs`` and ``tasks`` register
their builders when imported, and the schema imports every family before it answers,
so no family imports one that imports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineage.api.context import RequestContext
    from lineage.api.types.runs import Run
    from lineage.api.types.tasks import Task

RunsByIds = Callable[["RequestContext", Sequence[str]], Awaitable[list["Run"]]]
TasksByIds = Callable[["RequestContext", Sequence[str]], Awaitable[list["Task"]]]

_runs: list[RunsByIds] = []
_tasks: list[TasksByIds] = []


def bind_runs(build: RunsByIds) -> None:
    _runs[:] = [build]


def bind_tasks(build: TasksByIds) -> None:
    _tasks[:] = [build]


async def runs_by_ids(c: RequestContext, ids: Sequence[str]) -> list[Run]:
    """The visible runs of these ids (``lineage.api.types.runs.runs_by_ids``)."""
    return await _runs[0](c, ids)


async def tasks_by_ids(c: RequestContext, ids: Sequence[str]) -> list[Task]:
    """The visible tasks of these ids (``lineage.api.types.tasks.tasks_by_ids``)."""
    return await _tasks[0](c, ids)
