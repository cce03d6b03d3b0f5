"""The state of a run: the one KFP recorded, else derived from its tasks' states.

KFP's API records a run's RuntimeState; runs recorded from MLMD or kfp.local carry
none, so their state is read from their tasks, as KFP's UI shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from lineage import model
from lineage.model import ExecutionState, LineageType


class RunState(Enum):
    """KFP v2beta1 RuntimeState of a run."""

    RUNTIME_STATE_UNSPECIFIED = "RUNTIME_STATE_UNSPECIFIED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    PAUSED = "PAUSED"


_FROM_EXECUTION = {
    ExecutionState.FAILED: RunState.FAILED,
    ExecutionState.RUNNING: RunState.RUNNING,
    ExecutionState.NEW: RunState.PENDING,
    ExecutionState.CANCELED: RunState.CANCELED,
    ExecutionState.COMPLETE: RunState.SUCCEEDED,
    ExecutionState.CACHED: RunState.SUCCEEDED,
}
# CANCELED on a task is KFP's "not triggered" (a branch not taken): not a failure.
_DONE = (ExecutionState.COMPLETE, ExecutionState.CACHED, ExecutionState.CANCELED)


def recorded_state(properties: Mapping[str, object]) -> RunState | None:
    """The state recorded on the run's context, if any."""
    recorded = properties.get("state")
    if isinstance(recorded, str) and recorded in RunState.__members__:
        return RunState[recorded]
    return None


def derived_state(record: model.RunRecord | None) -> RunState:
    """A run's state from its tasks' states, for runs recorded without one."""
    if record is None:
        return RunState.RUNTIME_STATE_UNSPECIFIED
    states = [e.state for e in record.executions if e.type != LineageType.SNAPSHOT_EXECUTION]
    if not states:
        return RunState.RUNTIME_STATE_UNSPECIFIED
    for state in (ExecutionState.FAILED, ExecutionState.RUNNING):
        if state in states:
            return _FROM_EXECUTION[state]
    if ExecutionState.NEW in states:
        return RunState.PENDING
    if all(s in _DONE for s in states):
        return RunState.SUCCEEDED
    return RunState.RUNTIME_STATE_UNSPECIFIED
